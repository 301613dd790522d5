//! Copies an import built, shown before its transaction commits.
//!
//! A dropped export's figures appear as soon as its rows are parsed and its copy is built
//! (`ImportOptions::early_copy`); checking, hashing and committing the rows follow behind them,
//! and the status bar says "saving…" meanwhile. When the import then fails or is cancelled, its
//! rows are rolled back: the copy stays on screen, marked as not kept, so nothing shown is
//! silently taken for saved. This type keeps that bookkeeping apart from the shell's drawing.

use std::sync::mpsc::{channel, Receiver, Sender};

use crate::import::copy::ImportedCopy;

/// Which table a copy holds, for the "not kept" marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyKind {
    OrderLines,
    Events,
}

impl CopyKind {
    pub fn of(copy: &ImportedCopy) -> Self {
        match copy {
            ImportedCopy::OrderLines(_) => CopyKind::OrderLines,
            ImportedCopy::Events(_) => CopyKind::Events,
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            CopyKind::OrderLines => "order lines",
            CopyKind::Events => "events",
        }
    }
}

/// What to do with an import's copies once its job has finished.
#[derive(Debug, Default)]
pub struct Settled {
    /// Committed and not shown yet: show, then save for the next open.
    pub to_show: Vec<ImportedCopy>,
    /// Committed, and on screen since they were built: only save them.
    pub to_save: Vec<ImportedCopy>,
    /// Shown early, but their import did not commit.
    pub not_kept: Vec<CopyKind>,
}

/// Copies shown ahead of their import's commit, and those whose import then failed.
pub struct EarlyCopies {
    sender: Sender<ImportedCopy>,
    receiver: Receiver<ImportedCopy>,
    /// Shown, waiting for the import's outcome.
    pending: Vec<ImportedCopy>,
    /// Tables whose copy on screen comes from an import that was rolled back.
    not_kept: Vec<CopyKind>,
}

impl Default for EarlyCopies {
    fn default() -> Self {
        let (sender, receiver) = channel();
        Self { sender, receiver, pending: Vec::new(), not_kept: Vec::new() }
    }
}

impl EarlyCopies {
    /// Where an import sends its copy as soon as it is built.
    pub fn sender(&self) -> Sender<ImportedCopy> {
        self.sender.clone()
    }

    /// Copies that arrived since the last frame: the caller shows them now.
    pub fn arrived(&mut self) -> Vec<ImportedCopy> {
        let arrived: Vec<ImportedCopy> = self.receiver.try_iter().collect();
        for copy in &arrived {
            self.not_kept.retain(|&kind| kind != CopyKind::of(copy));
        }
        self.pending.extend(arrived.iter().cloned());
        arrived
    }

    /// Whether copies on screen are still being saved by their import.
    pub fn saving(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The tables whose copy on screen was not kept in the workspace.
    pub fn not_kept(&self) -> &[CopyKind] {
        &self.not_kept
    }

    /// Sorts the copies of the imports that just finished. `committed` are the copies their
    /// successful outcomes carry; every copy shown early and not among them was rolled back.
    /// A copy that arrived but was never shown needs no mark: it is shown now if committed,
    /// else dropped.
    pub fn settle(&mut self, committed: Vec<ImportedCopy>) -> Settled {
        // Arrived in the frame the import finished: never shown, so nothing to mark.
        self.receiver.try_iter().for_each(drop);
        let mut settled = Settled::default();
        for copy in committed {
            match self.pending.iter().position(|shown| shown.is(&copy)) {
                Some(i) => {
                    self.pending.swap_remove(i);
                    settled.to_save.push(copy);
                }
                None => settled.to_show.push(copy),
            }
        }
        for copy in &settled.to_show {
            self.not_kept.retain(|&kind| kind != CopyKind::of(copy));
        }
        for failed in self.pending.drain(..) {
            let kind = CopyKind::of(&failed);
            settled.not_kept.push(kind);
            if !self.not_kept.contains(&kind) {
                self.not_kept.push(kind);
            }
        }
        settled
    }

    /// A workspace opened or reloaded: whatever was shown early is gone from the screen.
    pub fn forget(&mut self) {
        self.receiver.try_iter().for_each(drop);
        self.pending.clear();
        self.not_kept.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::analytics::order_frame::OrderFrameBuilder;

    fn orders() -> ImportedCopy {
        ImportedCopy::OrderLines(Arc::new(OrderFrameBuilder::default().finish().unwrap()))
    }

    #[test]
    fn a_copy_shown_early_is_only_saved_once_its_import_commits() {
        let mut early = EarlyCopies::default();
        let copy = orders();
        early.sender().send(copy.clone()).unwrap();
        let arrived = early.arrived();
        assert_eq!(arrived.len(), 1);
        assert!(early.saving());
        let settled = early.settle(vec![copy]);
        assert!(settled.to_show.is_empty(), "already on screen");
        assert_eq!(settled.to_save.len(), 1);
        assert!(settled.not_kept.is_empty());
        assert!(!early.saving());
        assert!(early.not_kept().is_empty());
    }

    #[test]
    fn a_copy_shown_early_whose_import_failed_is_marked_not_kept_until_a_new_copy_arrives() {
        let mut early = EarlyCopies::default();
        early.sender().send(orders()).unwrap();
        early.arrived();
        // The import failed (or was cancelled): its outcome carries no copy.
        let settled = early.settle(Vec::new());
        assert_eq!(settled.not_kept, vec![CopyKind::OrderLines]);
        assert!(settled.to_save.is_empty() && settled.to_show.is_empty());
        assert_eq!(early.not_kept(), &[CopyKind::OrderLines]);
        assert!(!early.saving());
        // The next import's copy replaces the one on screen, and with it the mark.
        let next = orders();
        early.sender().send(next.clone()).unwrap();
        early.arrived();
        assert!(early.not_kept().is_empty());
        let settled = early.settle(vec![next]);
        assert_eq!(settled.to_save.len(), 1);
    }

    #[test]
    fn a_committed_copy_never_shown_is_shown_and_saved_and_an_unshown_failed_one_is_dropped() {
        let mut early = EarlyCopies::default();
        let committed = orders();
        // Both arrived in the frame the import finished, before `arrived` ran.
        early.sender().send(committed.clone()).unwrap();
        early.sender().send(orders()).unwrap();
        let settled = early.settle(vec![committed]);
        assert_eq!(settled.to_show.len(), 1);
        assert!(settled.to_save.is_empty());
        assert!(settled.not_kept.is_empty(), "nothing shown, nothing to mark");
        assert!(early.not_kept().is_empty());
    }
}
