//! The store's errors. Each names the file, URL or record that failed.

/// Errors of the store, its imports and its updates.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// There is no database at the path.
    #[error(
        "no advisory database at {path}: run `moat db update` (needs the network) or `moat db import PATH…`"
    )]
    Missing {
        /// The path.
        path: String,
    },
    /// The database was written by a newer Moat.
    #[error("{path}: schema version {found} is newer than this Moat's {supported}; update Moat")]
    TooNew {
        /// The path.
        path: String,
        /// The file's version.
        found: i64,
        /// This build's version.
        supported: i64,
    },
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The error.
        #[source]
        source: rusqlite::Error,
    },
    /// An input path (or a member of an archive) could not be read.
    #[error("{path}: {message}")]
    Input {
        /// The path, or `archive:member`.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A stored record could not be decoded.
    #[error("{path}: stored record {id} is damaged: {message}")]
    Damaged {
        /// The database file.
        path: String,
        /// The record id.
        id: String,
        /// The decoding error.
        message: String,
    },
    /// A download failed: network, HTTP status, or a damaged archive.
    #[error("{url}: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A download ended before the length the server announced.
    #[error("{url}: download cut short: received {received} of {expected} bytes")]
    Truncated {
        /// The URL.
        url: String,
        /// Bytes received.
        received: u64,
        /// The `Content-Length` the server sent.
        expected: u64,
    },
}

impl DbError {
    /// An [`DbError::Input`] for `path`.
    pub(crate) fn input(path: impl std::fmt::Display, message: impl std::fmt::Display) -> DbError {
        DbError::Input {
            path: path.to_string(),
            message: message.to_string(),
        }
    }

    /// A [`DbError::Download`] for `url`.
    pub(crate) fn download(url: impl std::fmt::Display, message: impl std::fmt::Display) -> DbError {
        DbError::Download {
            url: url.to_string(),
            message: message.to_string(),
        }
    }
}
