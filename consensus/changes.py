"""Changing view: suspicion, VIEW-CHANGE, NEW-VIEW, and installing the new view.

Leaving a view takes f+1 replicas, so at least one honest one. A replica whose view timer
expires (no progress on work it holds, or a transaction it holds left unordered for the
censorship timeout), or whose executor refuses the primary's block, only *suspects* the view: it
broadcasts SUSPECT(v), re-sends it every retransmission tick while the reason lasts, and goes
on voting in v. It sends VIEW-CHANGE(v+1) once f+1 replicas want out of v: they suspect v (a
SUSPECT heard within the last few ticks) or already sent a VIEW-CHANGE beyond it. It also
leaves at once when the primary proves itself faulty in a way anyone can check (two signed
proposals for one height, a malformed header, a proposal that does not extend its parent), and
when f+1 other replicas are in higher views (it joins the lowest of them). It persists the view
and its VIEW-CHANGE before sending it, and stops voting in the old view. The timeout doubles
with every failed view and halves with every commit that came fast enough (`NormalCase.calm_down`).

Why suspicion first: a VIEW-CHANGE cannot be taken back. The replica promises to vote no more
in v, and NEW-VIEW(v+1) relies on that promise: it may be built from this VIEW-CHANGE, which
reports the sender's prepared proofs as they were when it left. Were a lone replica to return
to v after its VIEW-CHANGE (say it timed out alone because it held a transaction nobody else
had) and COMMIT there, a block could commit in v with it among the 2f+1 committers, and a
NEW-VIEW(v+1) built from its stale VIEW-CHANGE, f faulty ones and one honest replica that never
prepared that block would miss it: a fork. So a replica must not leave on a reason only it
sees, and with SUSPECT it does not: alone, it stays in v and keeps voting, and needs no way
back. A SUSPECT binds to nothing. f faulty replicas cannot make anyone leave without an honest
replica suspecting too; that is as much as they could do before (f+1 VIEW-CHANGEs, one of them
honest, always made everyone join), and f+1 honest replicas holding a transaction the primary
leaves out still replace it.

Everyone who sees f+1 wanting out leaves, and its VIEW-CHANGE then counts for the others, so
honest replicas leave together. One can still end up alone in a higher view: it saw the
primary equivocate towards it alone, or f faulty replicas sent SUSPECTs to it only. It then
follows the chain by state transfer without voting, and its VIEW-CHANGE counts as wanting out
of v: the others follow it as soon as f more of them want out (f+1 stranded replicas make
everyone join at once), so it is back at their next view change.

NEW-VIEW, its check and what it re-proposes: consensus/README.md and viewchange.py.
"""

from __future__ import annotations

import itertools

from consensus.blocks import matches
from consensus.interface import (
    BlockFetched,
    CancelTimer,
    FetchBlock,
    Persist,
    SetTimer,
    Suspected,
    TimerFired,
    ViewChanged,
)
from consensus.messages import NewView, SignedMessage, Suspect, ViewChange
from consensus.records import NEW_VIEW_KEY, VIEW_CHANGE_KEY, VIEW_KEY, encode_view
from consensus.state import BATCH_TIMER, VIEW_TIMER, ReplicaState
from consensus.txids import block_tx_ids
from consensus.viewchange import Selection, select_new_view, valid_new_view, valid_view_change
from ledger.types import Height, ValidatorIndex, View

# A SUSPECT counts for this many retransmission intervals after it arrived; its sender re-sends
# it every interval while it still suspects, so a suspicion that has passed stops counting.
SUSPECT_TTL_TICKS = 3
# A suspicion of censorship is about the oldest held transactions, at most this many: it lasts
# while any of them stays unordered.
SUSPECT_TXS = 64


class ViewChanges(ReplicaState):
    # -- the view timer --------------------------------------------------------------------------

    def deadline(self) -> tuple[int, str] | None:
        """When this replica gives up on the current view, and why; None if it waits for nothing
        (or suspects the view already: the retransmission tick repeats that)."""
        if self.suspicion is not None:
            return None
        timeout = self.config.view_timeout(self.failures)
        if not self.installed:
            if self.vc_sent is None:  # restarted in a view whose NEW-VIEW we lost
                return self.vc_started + timeout, "no new view after a restart"
            if self.vc_quorum_at is None:
                # Alone in this view change: wait for others rather than run ahead of them.
                return None
            return self.vc_quorum_at + timeout, "view change timed out"
        found: tuple[int, str] | None = None
        if self.has_work():
            if self.progress_mark is None:
                self.progress_mark = self.now
            found = (self.progress_mark + timeout, "no progress")
        else:
            self.progress_mark = None
        if self.pending:
            oldest = next(iter(self.pending.values()))
            censored = oldest + self.config.censorship_timeout(self.failures)
            if found is None or censored < found[0]:
                found = (censored, "a held transaction was not ordered")
        return found

    def arm_view_timer(self) -> None:
        found = self.deadline()
        if found is None:
            if self.view_deadline is not None:
                self.view_deadline = None
                self.emit(CancelTimer(VIEW_TIMER))
            return
        if found[0] != self.view_deadline:
            self.view_deadline = found[0]
            self.emit(SetTimer(VIEW_TIMER, max(0, found[0] - self.now)))

    def on_view_timer(self, event: TimerFired) -> None:
        self.view_deadline = None
        found = self.deadline()
        if found is not None and self.now >= found[0]:
            overdue: tuple[bytes, ...] = ()
            if found[1].startswith("a held"):
                overdue = tuple(itertools.islice(self.pending, SUSPECT_TXS))  # oldest first
            self.suspect(f"timeout: {found[1]}", overdue)

    # -- suspicion -------------------------------------------------------------------------------

    def suspect(self, reason: str, tx_ids: tuple[bytes, ...] = ()) -> None:
        """Suspect the primary of our view: tell the others, and leave once f+1 do.

        The suspicion lasts until progress in this view (a commit, or the transactions
        `tx_ids` it was about being ordered); meanwhile it is re-sent every tick.
        """
        if self.suspicion is None:
            self.suspicion = (self._view, frozenset(tx_ids))
            self.emit(Suspected(self._view, reason))
        self.suspects[self.me] = (self._view, self.now)
        self.broadcast(self.sign(Suspect(self._view)))
        self.count_suspects()

    def still_suspicious(self) -> bool:
        """Re-checked every tick: does our suspicion of this view still hold?"""
        if self.suspicion is None or self.suspicion[0] != self._view:
            self.suspicion = None
            return False
        about = self.suspicion[1]
        if about and not any(tx_id in self.pending for tx_id in about):
            self.end_suspicion()
            return False
        return True

    def end_suspicion(self) -> None:
        """Our suspicion of this view (if any) is over: a new view, or what it was about."""
        self.suspicion = None
        self.suspects.pop(self.me, None)
        self.progress_mark = self.now

    def progressed(self) -> None:
        """A commit: the primary is alive, which ends a suspicion of it not making progress
        (but not one about transactions it leaves out: that lasts until they are ordered)."""
        if self.suspicion is not None and not self.suspicion[1]:
            self.end_suspicion()

    def on_suspect(self, envelope: SignedMessage, message: Suspect) -> None:
        if envelope.sender == self.me or message.view < self._view:
            return
        self.suspects[envelope.sender] = (message.view, self.now)
        self.count_suspects()

    def count_suspects(self) -> None:
        """Leave our view once f+1 replicas (so at least one honest) want out of it."""
        if self.wanting_out() > self.config.f:
            self.start_view_change(View(self._view + 1), "f+1 replicas suspect the primary")

    def wanting_out(self) -> int:
        """Replicas that suspect our view (recently) or sent a VIEW-CHANGE beyond it."""
        oldest = self.now - SUSPECT_TTL_TICKS * self.config.retransmit_interval()
        wanting = {
            sender
            for sender, (view, heard) in self.suspects.items()
            if view >= self._view and (heard >= oldest or sender == self.me)
        }
        wanting.update(
            s for s, (_, change) in self.view_changes.items() if change.view > self._view
        )
        return len(wanting)

    # -- leaving a view ----------------------------------------------------------------------------

    def _leave_view(self, target: View) -> None:
        for slot in self.log:  # a NEW-VIEW will likely re-propose these: keep them at hand
            if slot.block is not None and slot.block_hash in self.executed:
                self.blocks.seen(slot.height, slot.block_hash, slot.block)
        self._view = target
        self.installed = False
        self.new_view_msg = None
        self.fresh_from = 1 << 62
        self.vc_quorum_at = None
        self.suspicion = None
        self.suspects = {s: entry for s, entry in self.suspects.items() if entry[0] >= target}
        self.log.reset_view()
        self.asked.clear()
        self.building = False
        self.batch_ready = False
        if self.batch_armed:
            self.batch_armed = False
            self.emit(CancelTimer(BATCH_TIMER))
        self.inflight.clear()
        self.pending = {tx_id: self.now for tx_id in self.held}
        self.progress_mark = None

    def start_view_change(self, target: View, reason: str) -> None:
        if target <= self._view:
            return
        self._leave_view(target)
        self.failures += 1
        self.vc_started = self.now
        stable = self.checkpoints.stable
        reach = stable.height + self.config.proof_reach
        proofs = tuple(
            slot.proof
            for slot in self.log
            if slot.proof is not None and stable.height < slot.height <= reach
        )
        change = ViewChange(target, stable, proofs)
        envelope = self.sign(change)
        self.emit(Persist(VIEW_KEY, encode_view(target)))
        self.emit(Persist(VIEW_CHANGE_KEY, envelope.encode()))
        self.vc_sent = envelope
        self.view_changes[self.me] = (envelope, change)
        self.broadcast(envelope)
        self.emit(ViewChanged(target, self.primary, reason))
        self.count_view_changes()
        self.try_new_view()

    def count_view_changes(self) -> None:
        """Start the view-change timer once 2f+1 replicas (us included) left for >= our view."""
        if self.installed or self.vc_sent is None or self.vc_quorum_at is not None:
            return
        joined = sum(1 for _, change in self.view_changes.values() if change.view >= self._view)
        if joined >= self.config.quorum:
            self.vc_quorum_at = self.now

    # -- VIEW-CHANGE and NEW-VIEW ------------------------------------------------------------------

    def on_view_change(self, envelope: SignedMessage, message: ViewChange) -> None:
        sender = envelope.sender
        if sender == self.me:
            return
        if message.view < self._view or (message.view == self._view and self.installed):
            if self.installed and self.new_view_msg is not None:
                self.send(sender, self.new_view_msg)  # it missed our NEW-VIEW
            return
        known = self.view_changes.get(sender)
        if known is not None and known[1].view >= message.view:
            return
        change = valid_view_change(self.verifier, self.config, envelope)
        if change is None:
            return
        self.view_changes[sender] = (envelope, change)
        higher = sorted(
            (
                c.view
                for s, (_, c) in self.view_changes.items()
                if s != self.me and c.view > self._view
            ),
            reverse=True,
        )
        if len(higher) > self.config.f:
            # f+1 replicas left our view: at least one honest one did; join the lowest of them.
            self.start_view_change(higher[self.config.f], "f+1 replicas are changing view")
        self.count_suspects()
        self.count_view_changes()
        self.try_new_view()

    def try_new_view(self) -> None:
        if self.installed or self.primary != self.me or self.vc_sent is None:
            return
        if any(s.vote is not None and s.vote[0] == self._view for s in self.log):
            return  # we started this view before a restart: only that NEW-VIEW may stand
        chosen = [
            (envelope, change)
            for sender, (envelope, change) in sorted(
                self.view_changes.items(), key=lambda item: (item[0] != self.me, item[0])
            )
            if change.view == self._view
        ][: self.config.quorum]
        if len(chosen) < self.config.quorum:
            return
        selection = select_new_view(self._view, [change for _, change in chosen])
        if selection is None:
            return
        envelope = self.sign(NewView(self._view, tuple(envelope for envelope, _ in chosen)))
        self.install(selection, envelope)

    def on_new_view(self, envelope: SignedMessage, message: NewView) -> None:
        view = message.view
        if envelope.sender != self.config.primary_of(view):
            return  # (our own NEW-VIEW relayed back after a restart is welcome)
        if view < self._view or (view == self._view and self.installed):
            return
        selection = valid_new_view(self.verifier, self.config, view, message.view_changes)
        if selection is None or not self._consistent(selection):
            return
        if view > self._view:
            self._leave_view(view)
            self.emit(Persist(VIEW_KEY, encode_view(view)))
            self.emit(ViewChanged(view, self.primary, "joined a new view"))
        self.install(selection, envelope)

    def _consistent(self, selection: Selection) -> bool:
        """The re-proposed chain agrees with what we committed (it always does unless more than
        f replicas are faulty; refusing keeps us from voting against our own chain)."""
        committed = self.committed_height
        hashes = selection.hashes
        if selection.low < committed <= selection.high:
            return hashes[committed - selection.low - 1] == self.committed_hash
        if committed > selection.high and selection.high > selection.low:
            known = self.chain_hashes.get(selection.high)
            return known is None or known == hashes[-1]
        return True

    # -- entering the new view ---------------------------------------------------------------------

    def install(self, selection: Selection, envelope: SignedMessage) -> None:
        self.emit(Persist(NEW_VIEW_KEY, envelope.encode()))
        self.installed = True
        self.vc_sent = None
        self.new_view_msg = envelope
        self.fresh_from = selection.high + 1
        self.view_changes = {
            s: entry for s, entry in self.view_changes.items() if entry[1].view > self._view
        }
        self.end_suspicion()
        if selection.checkpoint.height > self.checkpoints.height:
            self.adopt_stable(selection.checkpoint)
        self._take_re_proposals(selection)
        self.pending = {tx_id: self.now for tx_id in self.held if tx_id not in self.inflight}
        if self.is_primary():
            self.broadcast(envelope)
        self.ask_for_blocks()
        if self.committed_height < self.checkpoints.height:
            self.fetch()

    def _take_re_proposals(self, selection: Selection) -> None:
        """Make the re-proposed blocks this view's proposals: the ones we hold at once, the
        others by hash until fetched (a committed height needs only its hash to vote on)."""
        primary = self.is_primary()
        committed = self.committed_height
        hashes = selection.hashes
        links = (
            bool(hashes)
            and selection.low < committed
            and (committed <= selection.high or self.chain_hashes.get(selection.high) == hashes[-1])
        )
        for offset, block_hash in enumerate(hashes):
            height = Height(selection.low + 1 + offset)
            if height <= self.checkpoints.height:
                continue
            slot = self.log.slot(height)
            slot.reset_view()
            block = self.blocks.get(block_hash) if height > committed else None
            if block is not None:
                tx_ids = block_tx_ids(block.txs)
                slot.set_block(block, block_hash, tx_ids, None)
                self.order_txs(tx_ids)
            else:
                slot.expect(block_hash, selection.voters(offset))
            if links and height <= committed:
                self.chain_hashes.setdefault(height, block_hash)
            if primary:
                self.persist_vote(slot, self._view, block_hash)

    # -- blocks named by hash ----------------------------------------------------------------------

    def ask_for_blocks(self) -> None:
        """Ask the driver for each re-proposed block we lack (once at a time per block),
        from the replicas that prepared it first: the honest ones among them hold it."""
        if not self.installed:
            return
        for slot in self.log:
            if not slot.awaiting_block or slot.height <= self.committed_height:
                continue
            if slot.block_hash in self.asked:
                continue
            voters = [p for p in slot.sources if p != self.me]
            others = [ValidatorIndex(p) for p in range(self.config.n) if p != self.me]
            peers = tuple(voters + [p for p in others if p not in voters])
            self.asked.add(slot.block_hash)
            self.emit(FetchBlock(slot.height, slot.block_hash, peers))

    def on_block_fetched(self, event: BlockFetched) -> None:
        self.asked.discard(event.block_hash)
        block = event.block
        if block is None or not matches(block, event.height, event.block_hash):
            return  # asked again on the next tick
        self.blocks.seen(event.height, event.block_hash, block)
        slot = self.log.get(event.height)
        if (
            self.installed
            and slot is not None
            and slot.awaiting_block
            and slot.block_hash == event.block_hash
        ):
            tx_ids = block_tx_ids(block.txs)
            slot.set_block(block, event.block_hash, tx_ids, None)
            if event.height > self.committed_height:
                self.order_txs(tx_ids)
