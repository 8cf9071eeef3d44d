//! Applying a cooldown (`exclude-newer`, see [`crate::manifest::cooldown`]) to a revision's
//! history: the choice of a commit is pure, so it is deterministic and unit-tested.

use crate::manifest::cooldown::Timestamp;

/// One commit of a revision's history, with its parsed date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedCommit {
    /// The full commit hash.
    pub id: String,
    /// The commit's date, as its pusher wrote it.
    pub date: Timestamp,
}

/// The first commit, walking `history` newest first as the Hub lists it (git order), dated at
/// or before `cutoff`. The same rule stops the paging of the history, so the choice does not
/// depend on the page size. Commit dates are written by whoever pushes: the cooldown keeps out
/// commits that are recent by their own account, not one a pusher backdated.
pub fn choose_commit(history: &[DatedCommit], cutoff: Timestamp) -> Option<&DatedCommit> {
    history.iter().find(|commit| commit.date <= cutoff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::cooldown::ExcludeNewer;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn the_first_commit_old_enough_in_git_order_is_chosen() {
        let commit = |id: &str, date: &str| DatedCommit {
            id: id.to_owned(),
            date: at(date),
        };
        // Git order, newest first, but one rebased commit carries an older date.
        let history = [
            commit("d", "2026-01-30T00:00:00Z"),
            commit("c", "2026-01-10T00:00:00Z"),
            commit("b", "2026-01-20T00:00:00Z"),
            commit("a", "2026-01-01T00:00:00Z"),
        ];
        let now = at("2026-01-31T00:00:00Z");
        let choose = |cooldown: &str| {
            let cutoff = ExcludeNewer::parse(cooldown).unwrap().cutoff(now);
            choose_commit(&history, cutoff).map(|c| c.id.as_str())
        };
        assert_eq!(choose("1 hour"), Some("d"));
        assert_eq!(choose("1 day"), Some("d"), "exactly at the cutoff counts");
        // c claims an older date than its parent b: git order decides, as the paging does.
        assert_eq!(choose("7 days"), Some("c"));
        assert_eq!(choose("15 days"), Some("c"));
        assert_eq!(choose("25 days"), Some("a"));
        assert_eq!(choose("30 days"), Some("a"));
        assert_eq!(choose("31 days"), None);
    }
}
