//! Native file dialogs that do not freeze the window: the dialog waits on a job's thread while
//! the app keeps drawing (progress bars move, imports finish). On macOS dialogs must run on the
//! main thread, so there they run inline.

use std::path::PathBuf;

use crate::jobs::Job;

#[derive(Debug, Clone, Copy)]
pub enum Pick {
    File,
    Files,
    Folder,
    Save,
}

/// A dialog the user is answering, with what to do with the answer (`P`).
pub struct PendingDialog<P> {
    purpose: Option<P>,
    job: Option<Job<Vec<PathBuf>>>,
    answered: Option<Vec<PathBuf>>,
}

fn run(dialog: rfd::FileDialog, pick: Pick) -> Vec<PathBuf> {
    match pick {
        Pick::File => dialog.pick_file().into_iter().collect(),
        Pick::Files => dialog.pick_files().unwrap_or_default(),
        Pick::Folder => dialog.pick_folder().into_iter().collect(),
        Pick::Save => dialog.save_file().into_iter().collect(),
    }
}

impl<P> PendingDialog<P> {
    pub fn ask(dialog: rfd::FileDialog, pick: Pick, purpose: P) -> Self {
        if cfg!(target_os = "macos") {
            return Self { purpose: Some(purpose), job: None, answered: Some(run(dialog, pick)) };
        }
        Self { purpose: Some(purpose), job: Some(Job::spawn("file dialog", move |_| Ok(run(dialog, pick)))), answered: None }
    }

    /// The purpose and the chosen paths once the user has answered (empty when cancelled).
    pub fn poll(&mut self) -> Option<(P, Vec<PathBuf>)> {
        if let Some(job) = &mut self.job {
            self.answered = Some(job.try_take()?.unwrap_or_default());
            self.job = None;
        }
        let paths = self.answered.take()?;
        Some((self.purpose.take()?, paths))
    }
}
