"""Keys, the encrypted keystore, transaction building, the SDK and the wallet commands."""
