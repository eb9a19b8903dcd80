"""Development and operations tools: localnets, devnets, a real consortium's files, bench."""
