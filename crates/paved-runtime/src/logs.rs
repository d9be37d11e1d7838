//! Container logs: one JSON line per output line in `<root>/tasks/<task_id>/logs/<container>.log`,
//! rotated to `.log.1 … .log.N`, and a broadcast channel for following.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::broadcast;

/// Longest message kept from one line; the rest is cut and the line marked `truncated`.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line a container wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    pub task_id: String,
    pub container: String,
    pub timestamp: jiff::Timestamp,
    pub stream: Stream,
    pub message: String,
    /// The line was longer than [`MAX_LINE_BYTES`] and was cut.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A line as stored in a log file.
#[derive(Serialize, Deserialize)]
struct StoredLine {
    timestamp: String,
    stream: Stream,
    message: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    truncated: bool,
}

/// The logs of every task under `<root>/tasks`.
#[derive(Clone, Debug)]
pub struct LogStore {
    tasks_dir: PathBuf,
    max_bytes: u64,
    max_files: usize,
    sender: broadcast::Sender<LogLine>,
}

impl LogStore {
    pub(crate) fn new(tasks_dir: PathBuf, max_bytes: u64, max_files: usize) -> LogStore {
        LogStore {
            tasks_dir,
            max_bytes: max_bytes.max(1),
            max_files,
            sender: broadcast::channel(1024).0,
        }
    }

    fn dir(&self, task_id: &str) -> PathBuf {
        self.tasks_dir.join(task_id).join("logs")
    }

    /// The last `limit` lines of a task's container (or of all its containers, merged by
    /// time), oldest first, across rotated files.
    pub fn read(&self, task_id: &str, container: Option<&str>, limit: usize) -> Vec<LogLine> {
        if !crate::runtime::is_valid_id(task_id) {
            return Vec::new();
        }
        let dir = self.dir(task_id);
        let containers: Vec<String> = match container {
            Some(container) => vec![container.to_owned()],
            None => std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|entry| {
                            let name = entry.ok()?.file_name().into_string().ok()?;
                            Some(name.strip_suffix(".log")?.to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let mut lines = Vec::new();
        for container in containers {
            if !crate::runtime::is_valid_id(&container) {
                continue;
            }
            let mut files: Vec<PathBuf> = (1..=self.max_files)
                .rev()
                .map(|index| dir.join(format!("{container}.log.{index}")))
                .collect();
            files.push(dir.join(format!("{container}.log")));
            for file in files {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                lines.extend(text.lines().filter_map(|line| {
                    let stored: StoredLine = serde_json::from_str(line).ok()?;
                    Some(LogLine {
                        task_id: task_id.to_owned(),
                        container: container.clone(),
                        timestamp: stored.timestamp.parse().ok()?,
                        stream: stored.stream,
                        message: stored.message,
                        truncated: stored.truncated,
                    })
                }));
            }
        }
        lines.sort_by_key(|line| line.timestamp);
        let skip = lines.len().saturating_sub(limit);
        lines.split_off(skip)
    }

    /// Every line written from now on, by any container of any task.
    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.sender.subscribe()
    }

    /// Deletes a task's logs.
    pub fn remove_logs(&self, task_id: &str) {
        if !crate::runtime::is_valid_id(task_id) {
            return;
        }
        let dir = self.dir(task_id);
        if let Err(err) = std::fs::remove_dir_all(&dir)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %dir.display(), %err, "cannot remove logs");
        }
        // The task directory goes too once nothing else is in it.
        let _ = std::fs::remove_dir(self.tasks_dir.join(task_id));
    }

    pub(crate) fn writer(&self, task_id: &str, container: &str) -> LogWriter {
        LogWriter {
            task_id: task_id.to_owned(),
            container: container.to_owned(),
            dir: self.dir(task_id),
            max_bytes: self.max_bytes,
            max_files: self.max_files,
            sender: self.sender.clone(),
            file: Mutex::new(None),
        }
    }
}

/// Appends one container's lines to its log file, rotating it.
pub(crate) struct LogWriter {
    task_id: String,
    container: String,
    dir: PathBuf,
    max_bytes: u64,
    max_files: usize,
    sender: broadcast::Sender<LogLine>,
    /// The open file and its size.
    file: Mutex<Option<(std::fs::File, u64)>>,
}

impl LogWriter {
    fn path(&self, index: usize) -> PathBuf {
        match index {
            0 => self.dir.join(format!("{}.log", self.container)),
            index => self.dir.join(format!("{}.log.{index}", self.container)),
        }
    }

    pub(crate) fn write(&self, stream: Stream, message: String, truncated: bool) {
        let timestamp = jiff::Timestamp::now();
        let stored = StoredLine {
            timestamp: format!("{timestamp:.3}"),
            stream,
            message,
            truncated,
        };
        let Ok(mut json) = serde_json::to_vec(&stored) else {
            return;
        };
        json.push(b'\n');
        if let Err(err) = self.append(&json) {
            tracing::warn!(task = %self.task_id, container = %self.container, %err, "cannot write a log line");
        }
        let _ = self.sender.send(LogLine {
            task_id: self.task_id.clone(),
            container: self.container.clone(),
            timestamp,
            stream,
            message: stored.message,
            truncated,
        });
    }

    fn append(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut guard = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, size)) = &*guard
            && *size > 0
            && *size + bytes.len() as u64 > self.max_bytes
        {
            *guard = None;
            self.rotate()?;
        }
        if guard.is_none() {
            std::fs::create_dir_all(&self.dir)?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.path(0))?;
            let size = file.metadata()?.len();
            *guard = Some((file, size));
        }
        if let Some((file, size)) = guard.as_mut() {
            file.write_all(bytes)?;
            *size += bytes.len() as u64;
        }
        Ok(())
    }

    fn rotate(&self) -> std::io::Result<()> {
        if self.max_files == 0 {
            return remove_if_exists(&self.path(0));
        }
        remove_if_exists(&self.path(self.max_files))?;
        for index in (0..self.max_files).rev() {
            let from = self.path(index);
            if from.exists() {
                std::fs::rename(&from, self.path(index + 1))?;
            }
        }
        Ok(())
    }
}

fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

/// Reads `reader` to its end and writes each line; lines over [`MAX_LINE_BYTES`] are cut
/// without holding more than that in memory.
pub(crate) async fn copy_lines(reader: impl AsyncRead + Unpin, stream: Stream, writer: &LogWriter) {
    let mut reader = BufReader::new(reader);
    let mut line: Vec<u8> = Vec::new();
    let mut truncated = false;
    loop {
        let buffer = match reader.fill_buf().await {
            Ok(buffer) => buffer,
            Err(err) => {
                tracing::debug!(%err, "container output closed");
                break;
            }
        };
        if buffer.is_empty() {
            break;
        }
        let (chunk, end_of_line) = match buffer.iter().position(|&b| b == b'\n') {
            Some(position) => (&buffer[..position], true),
            None => (buffer, false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        if chunk.len() > room {
            truncated = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let consumed = chunk.len() + usize::from(end_of_line);
        reader.consume(consumed);
        if end_of_line {
            emit(writer, stream, std::mem::take(&mut line), truncated);
            truncated = false;
        }
    }
    if !line.is_empty() || truncated {
        emit(writer, stream, line, truncated);
    }
}

fn emit(writer: &LogWriter, stream: Stream, mut line: Vec<u8>, truncated: bool) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    writer.write(
        stream,
        String::from_utf8_lossy(&line).into_owned(),
        truncated,
    );
}
