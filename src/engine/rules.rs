//! Trigger rules: what a pending task does, given its direct upstream states.
//! Airflow's semantics, acting as soon as the outcome is certain.

use crate::flow::TriggerRule;
use crate::store::TaskState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Not decided yet: some upstream task is still to finish.
    Wait,
    Run,
    Skip,
    UpstreamFailed,
}

pub fn decide(rule: TriggerRule, upstream: &[TaskState]) -> Decision {
    if upstream.is_empty() {
        return Decision::Run;
    }
    let total = upstream.len();
    let count = |f: fn(&TaskState) -> bool| upstream.iter().filter(|s| f(s)).count();
    let success = count(|s| *s == TaskState::Success);
    let skipped = count(|s| *s == TaskState::Skipped);
    let failed = count(|s| s.is_failure());
    let done = count(|s| s.is_done());
    let all_done = done == total;
    match rule {
        TriggerRule::AllSuccess => {
            if failed > 0 {
                Decision::UpstreamFailed
            } else if skipped > 0 {
                Decision::Skip
            } else if success == total {
                Decision::Run
            } else {
                Decision::Wait
            }
        }
        TriggerRule::AllFailed => {
            if success > 0 || skipped > 0 {
                Decision::Skip
            } else if all_done {
                Decision::Run
            } else {
                Decision::Wait
            }
        }
        TriggerRule::AllDone => {
            if all_done {
                Decision::Run
            } else {
                Decision::Wait
            }
        }
        TriggerRule::OneSuccess => {
            if success > 0 {
                Decision::Run
            } else if !all_done {
                Decision::Wait
            } else if skipped == total {
                Decision::Skip
            } else {
                Decision::UpstreamFailed
            }
        }
        TriggerRule::OneFailed => {
            if failed > 0 {
                Decision::Run
            } else if all_done {
                Decision::Skip
            } else {
                Decision::Wait
            }
        }
        TriggerRule::NoneFailed => {
            if failed > 0 {
                Decision::UpstreamFailed
            } else if all_done {
                Decision::Run
            } else {
                Decision::Wait
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Decision::*;
    use super::*;
    use TaskState::{
        Failed as F, Running as R, Skipped as K, Success as S, UpForRetry as U,
        UpstreamFailed as UF,
    };

    #[test]
    fn every_rule_decides_like_airflow() {
        let cases: &[(TriggerRule, &[TaskState], Decision)] = &[
            (TriggerRule::AllSuccess, &[S, S], Run),
            (TriggerRule::AllSuccess, &[S, R], Wait),
            (TriggerRule::AllSuccess, &[F, R], UpstreamFailed),
            (TriggerRule::AllSuccess, &[UF, S], UpstreamFailed),
            (TriggerRule::AllSuccess, &[K, S], Skip),
            (TriggerRule::AllSuccess, &[U, S], Wait),
            (TriggerRule::AllDone, &[F, K], Run),
            (TriggerRule::AllDone, &[F, U], Wait),
            (TriggerRule::AllFailed, &[F, UF], Run),
            (TriggerRule::AllFailed, &[F, R], Wait),
            (TriggerRule::AllFailed, &[F, S], Skip),
            (TriggerRule::OneSuccess, &[S, R], Run),
            (TriggerRule::OneSuccess, &[F, R], Wait),
            (TriggerRule::OneSuccess, &[F, K], UpstreamFailed),
            (TriggerRule::OneSuccess, &[K, K], Skip),
            (TriggerRule::OneFailed, &[F, R], Run),
            (TriggerRule::OneFailed, &[S, R], Wait),
            (TriggerRule::OneFailed, &[S, K], Skip),
            (TriggerRule::NoneFailed, &[S, K], Run),
            (TriggerRule::NoneFailed, &[S, R], Wait),
            (TriggerRule::NoneFailed, &[UF, R], UpstreamFailed),
        ];
        for (rule, upstream, expected) in cases {
            assert_eq!(
                decide(*rule, upstream),
                *expected,
                "{rule} with {upstream:?}"
            );
        }
        assert_eq!(decide(TriggerRule::AllFailed, &[]), Run, "no upstream: run");
    }
}
