"""The referral status machine: which status may follow which, and why.

| from         | may move to                                              |
|--------------|----------------------------------------------------------|
| received     | assessing, eligible, ineligible, withdrawn               |
| assessing    | eligible, ineligible, withdrawn                          |
| eligible     | eligible, ineligible, active, waitlisted, withdrawn      |
| ineligible   | eligible, ineligible, withdrawn                          |
| waitlisted   | active, withdrawn                                        |
| active       | active, closed, withdrawn                                |
| closed       | (terminal)                                               |
| withdrawn    | (terminal)                                               |

Why:
- An eligibility decision can arrive before anyone marks the case as being assessed, so
  `received` may go straight to `eligible` / `ineligible`.
- A referral that is updated is decided again: `eligible` and `ineligible` may move to either
  decision, including the one they already hold, until an intervention starts.
- `waitlisted` is reached only from `eligible` (a start refused for capacity) and leaves only
  by starting (`active`) or withdrawal; a new decision while waiting is kept for the record but
  does not silently take the case off the list.
- `active` -> `active` lets a further intervention start on a case already active (e.g. MST
  superseding another prevention service) without a spurious error.
- Withdrawal is possible from every status that is not terminal; `closed` and `withdrawn`
  never change again (a new episode is a new referral).
"""

from __future__ import annotations

from types import MappingProxyType

from referral_svc.domain.vocab import ReferralStatus as S

TRANSITIONS: MappingProxyType[S, frozenset[S]] = MappingProxyType(
    {
        S.RECEIVED: frozenset({S.ASSESSING, S.ELIGIBLE, S.INELIGIBLE, S.WITHDRAWN}),
        S.ASSESSING: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.WITHDRAWN}),
        S.ELIGIBLE: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.ACTIVE, S.WAITLISTED, S.WITHDRAWN}),
        S.INELIGIBLE: frozenset({S.ELIGIBLE, S.INELIGIBLE, S.WITHDRAWN}),
        S.WAITLISTED: frozenset({S.ACTIVE, S.WITHDRAWN}),
        S.ACTIVE: frozenset({S.ACTIVE, S.CLOSED, S.WITHDRAWN}),
        S.CLOSED: frozenset(),
        S.WITHDRAWN: frozenset(),
    }
)

TERMINAL: frozenset[S] = frozenset(status for status, targets in TRANSITIONS.items() if not targets)


class IllegalTransition(ValueError):
    """A change the case's current status does not allow; the API answers it with 409."""

    def __init__(self, current: S | str, target: S | str) -> None:
        self.current = S(current)
        self.target = S(target)
        allowed = sorted(TRANSITIONS[self.current])
        if allowed:
            hint = f"from {self.current} it can only become {', '.join(allowed)}"
        else:
            hint = f"{self.current} is final"
        super().__init__(f"the referral is {self.current} and cannot become {self.target}; {hint}")


def allowed_targets(current: S | str) -> frozenset[S]:
    return TRANSITIONS[S(current)]


def is_terminal(status: S | str) -> bool:
    return S(status) in TERMINAL


def can_transition(current: S | str, target: S | str) -> bool:
    return S(target) in TRANSITIONS[S(current)]


def transition(current: S | str, target: S | str) -> S:
    """Return `target` when the move is allowed, else raise `IllegalTransition`.

    Plain strings from the database are accepted; an unknown status raises `ValueError`.
    """
    current, target = S(current), S(target)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target
