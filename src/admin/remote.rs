//! How `stripes users …` reaches a server that holds its database.
//!
//! The server holds its database file alone (`store::VFS`), so another
//! process cannot open it while it runs. Instead it listens on a Unix
//! socket beside the file (`<db>-admin`, only its owner may connect), and
//! the `stripes` command, finding one, sends the parsed command there as
//! JSON; the server runs it on its own connections and answers with the
//! report and the error, if any. One command a connection, one at a time.
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{administer, Command};
use crate::registry::Registry;
use crate::store::Store;

/// The most a command's JSON may take: commands are a few names long.
const MAX_REQUEST_BYTES: u64 = 64 * 1024;

/// How long the `stripes` command waits for the server's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// What the server answers: the command's report and, when it failed, why.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Answer {
    /// What the command printed.
    pub output: String,
    /// Why it failed; `None` when it succeeded.
    pub error: Option<String>,
}

/// The socket beside `db`: its path with `-admin` appended.
pub fn socket_path(db: &Path) -> PathBuf {
    let mut path = db.as_os_str().to_owned();
    path.push("-admin");
    PathBuf::from(path)
}

/// A server's socket, served by a thread of its own; dropping it stops the
/// thread and removes the socket.
pub struct Listener {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens beside `db`, which `store` holds. A socket left there by a
    /// server that died is replaced: holding the database, no other server
    /// can be using it.
    pub fn start(db: &Path, store: Store, registry: Arc<Registry>) -> std::io::Result<Listener> {
        let path = socket_path(db);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_socket()) {
            std::fs::remove_file(&path)?;
        }
        let listener = UnixListener::bind(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("stripes-admin".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::Acquire) {
                        break;
                    }
                    match stream {
                        Ok(stream) => serve_one(stream, &store, &registry),
                        // Out of descriptors, say: not a loop at full speed.
                        Err(_) => std::thread::sleep(Duration::from_millis(100)),
                    }
                }
            })?;
        Ok(Listener {
            path,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wakes the thread from `accept` to see the flag. When the socket
        // file was removed under the server nothing can wake it: the thread
        // is left to end with the process rather than hold up the stop.
        if UnixStream::connect(&self.path).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Reads one command from `stream`, runs it, and writes the answer.
fn serve_one(mut stream: UnixStream, store: &Store, registry: &Registry) {
    let _ = stream.set_read_timeout(Some(ANSWER_TIMEOUT));
    let mut request = Vec::new();
    let answer = match (&mut stream)
        .take(MAX_REQUEST_BYTES)
        .read_to_end(&mut request)
    {
        // The wake-up connection of `Listener::drop` sends nothing.
        Ok(0) => return,
        Ok(_) => run(&request, store, registry),
        Err(e) => failed(format!("reading the command: {e}")),
    };
    let bytes = serde_json::to_vec(&answer).unwrap_or_default();
    let _ = stream.write_all(&bytes);
}

fn run(request: &[u8], store: &Store, registry: &Registry) -> Answer {
    let command: Command = match serde_json::from_slice(request) {
        Ok(command) => command,
        Err(e) => return failed(format!("not a command this server knows: {e}")),
    };
    let conn = match store.conn() {
        Ok(conn) => conn,
        Err(e) => return failed(e.to_string()),
    };
    let mut output = String::new();
    let error = administer(&conn, registry, command, &mut output).err();
    tracing::info!(failed = error.is_some(), "ran an administration command");
    Answer { output, error }
}

fn failed(error: String) -> Answer {
    Answer {
        output: String::new(),
        error: Some(error),
    }
}

/// Has the server holding `db` run `command`: `None` when no server listens
/// beside it (none runs, or one is starting or stopping), and the command
/// should open the database itself.
pub fn forward(db: &Path, command: &Command) -> Option<Result<Answer, String>> {
    let mut stream = UnixStream::connect(socket_path(db)).ok()?;
    Some(exchange(&mut stream, command))
}

fn exchange(stream: &mut UnixStream, command: &Command) -> Result<Answer, String> {
    let talk = |e: std::io::Error| format!("talking to the server that holds the database: {e}");
    let request = serde_json::to_vec(command).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(talk)?;
    stream.write_all(&request).map_err(talk)?;
    stream.shutdown(std::net::Shutdown::Write).map_err(talk)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(talk)?;
    serde_json::from_slice(&answer)
        .map_err(|e| format!("the server that holds the database answered oddly: {e}"))
}
