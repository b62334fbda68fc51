//! Progress bars on a terminal for pulls and layer walks.

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use moat_artifact::Progress;
use std::sync::Mutex;

/// Shows one bar per layer being read, on standard error.
pub struct TerminalProgress {
    bars: MultiProgress,
    current: Mutex<Vec<(std::thread::ThreadId, ProgressBar)>>,
}

impl TerminalProgress {
    /// A progress display on standard error.
    pub fn new() -> TerminalProgress {
        TerminalProgress {
            bars: MultiProgress::new(),
            current: Mutex::new(Vec::new()),
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        let id = std::thread::current().id();
        let bars = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, bar)) = bars.iter().find(|(owner, _)| *owner == id) {
            f(bar);
        }
    }
}

impl Progress for TerminalProgress {
    fn begin(&self, label: &str, total_bytes: Option<u64>) {
        let bar = match total_bytes {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{msg:40!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner(),
        };
        let bar = self.bars.add(bar);
        bar.set_message(label.to_string());
        let id = std::thread::current().id();
        let mut bars = self.current.lock().unwrap_or_else(|e| e.into_inner());
        bars.retain(|(owner, _)| *owner != id);
        bars.push((id, bar));
    }

    fn advance(&self, bytes: u64) {
        self.with_bar(|bar| bar.inc(bytes));
    }

    fn end(&self) {
        let id = std::thread::current().id();
        let mut bars = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = bars.iter().position(|(owner, _)| *owner == id) {
            let (_, bar) = bars.remove(pos);
            bar.finish_and_clear();
        }
    }
}
