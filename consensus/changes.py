"""Changing view: timers, VIEW-CHANGE, NEW-VIEW, and installing the new view.

A replica moves to view v+1 when its view timer expires (no progress on work it holds, or a
transaction it holds left unordered for the censorship timeout), when the primary proves itself
faulty (two proposals for one height, a malformed or invalid proposal, a proposal that does not
extend its parent), or when f+1 other replicas are already in higher views (it joins the lowest
of them). It persists the view and its VIEW-CHANGE before sending it, and stops taking part in
the old view. The timeout doubles with every view that fails in a row.

The new primary collects 2f+1 VIEW-CHANGE(v) (its own included), persists its votes for the
re-proposed blocks and broadcasts NEW-VIEW. Each replica checks it by recomputing the choice
(viewchange.select_new_view), adopts its stable checkpoint (fetching blocks if it is behind it)
and treats the chosen blocks as this view's proposals.
"""

from __future__ import annotations

from consensus.interface import CancelTimer, Persist, SetTimer, TimerFired, ViewChanged
from consensus.messages import NewView, SignedMessage, ViewChange
from consensus.records import NEW_VIEW_KEY, VIEW_CHANGE_KEY, VIEW_KEY, encode_view
from consensus.state import BATCH_TIMER, VIEW_TIMER, ReplicaState
from consensus.txids import block_tx_ids
from consensus.viewchange import Selection, select_new_view, valid_new_view, valid_view_change


class ViewChanges(ReplicaState):
    # -- the view timer --------------------------------------------------------------------------

    def deadline(self) -> tuple[int, str] | None:
        """When this replica gives up on the current view, and why; None if it waits for nothing."""
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
            self.start_view_change(self._view + 1, f"timeout: {found[1]}")

    # -- leaving a view ----------------------------------------------------------------------------

    def _leave_view(self, target: int) -> None:
        self._view = target
        self.installed = False
        self.new_view_msg = None
        self.fresh_from = 1 << 62
        self.vc_quorum_at = None
        self.log.reset_view()
        self.building = False
        self.batch_ready = False
        if self.batch_armed:
            self.batch_armed = False
            self.emit(CancelTimer(BATCH_TIMER))
        self.inflight.clear()
        self.pending = {tx_id: self.now for tx_id in self.held}
        self.progress_mark = None

    def start_view_change(self, target: int, reason: str) -> None:
        if target <= self._view:
            return
        self._leave_view(target)
        self.failures += 1
        self.vc_started = self.now
        stable = self.checkpoints.stable
        proofs = tuple(
            slot.proof
            for slot in self.log
            if slot.proof is not None and slot.height > stable.height
        )
        envelope = self.sign(ViewChange(target, stable, proofs))
        self.emit(Persist(VIEW_KEY, encode_view(target)))
        self.emit(Persist(VIEW_CHANGE_KEY, envelope.encode()))
        self.vc_sent = envelope
        assert isinstance(envelope.message, ViewChange)
        self.view_changes[self.me] = (envelope, envelope.message)
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
        self.count_view_changes()
        self.try_new_view()

    def try_new_view(self) -> None:
        if self.installed or self.primary != self.me or self.vc_sent is None:
            return
        if any(s.vote is not None and s.vote[0] == self._view for s in self.log):
            return  # we started this view before a restart: only that NEW-VIEW may stand
        chosen = [
            (envelope, change)
            for _, (envelope, change) in sorted(self.view_changes.items())
            if change.view == self._view
        ]
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
        jumped = view > self._view
        if jumped:
            self._leave_view(view)
            self.emit(Persist(VIEW_KEY, encode_view(view)))
            self.emit(ViewChanged(view, self.primary, "joined a new view"))
        self.install(selection, envelope)

    def _consistent(self, selection: Selection) -> bool:
        """The re-proposed chain agrees with what we committed (it always does unless more than
        f replicas are faulty; refusing keeps us from voting against our own chain)."""
        committed = self.committed_height
        if selection.low < committed <= selection.high:
            return selection.hashes[committed - selection.low - 1] == self.committed_hash
        if committed > selection.high and selection.high > selection.low:
            known = self.chain_hashes.get(selection.high)
            return known is None or known == selection.hashes[-1]
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
        self.progress_mark = self.now
        if selection.checkpoint.height > self.checkpoints.height:
            self.adopt_stable(selection.checkpoint)
        primary = self.is_primary()
        committed = self.committed_height
        links = (
            bool(selection.blocks)
            and selection.low < committed
            and (
                committed <= selection.high
                or self.chain_hashes.get(selection.high) == selection.hashes[-1]
            )
        )
        for offset, block in enumerate(selection.blocks):
            height = selection.low + 1 + offset
            if height <= self.checkpoints.height:
                continue
            block_hash = selection.hashes[offset]
            slot = self.log.slot(height)
            slot.reset_view()
            tx_ids = block_tx_ids(block.txs)
            slot.set_block(block, block_hash, tx_ids, None)
            if links and height <= committed:
                self.chain_hashes.setdefault(height, block_hash)
            if height > self.committed_height:
                self.inflight.update(tx_ids)
            if primary:
                self.persist_vote(slot, self._view, block_hash)
        self.pending = {tx_id: self.now for tx_id in self.held if tx_id not in self.inflight}
        if primary:
            self.broadcast(envelope)
        if self.committed_height < self.checkpoints.height:
            self.fetch()
