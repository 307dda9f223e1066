//! Borrowing the terminal to ask a person for a code while rolepick's child
//! runs.
//!
//! An interactive shell started by rolepick does job control: it puts
//! itself, and each command it runs, in a process group of its own and
//! hands that group the terminal's foreground. rolepick (the shell's parent)
//! is then in the background, where reading the terminal would stop it.
//! When the credential endpoint needs a new MFA code for a command that is
//! waiting on it (say `terraform apply`), rolepick takes the foreground from
//! exactly that command's process group, asks, and gives it back: the
//! command carries on with fresh credentials. rolepick never takes the
//! terminal from anybody else (the shell at its prompt, an editor in the
//! foreground while a background job asks). The waiting command is traced
//! from its TCP connection through `/proc` (Linux); where that cannot be
//! done, rolepick asks only when it has the foreground itself.
//!
//! The kernel lets a background process take the foreground only while it
//! blocks `SIGTTOU`; the thread that borrows blocks `SIGTTOU` and `SIGTTIN`
//! (a read from the background then fails instead of stopping rolepick)
//! for as long as it holds the terminal.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use rustix::process::Pid;
use rustix::termios::{self, InputModes, LocalModes, OptionalActions, Termios};
use zeroize::Zeroize;

/// The controlling terminal, held by rolepick until dropped.
pub struct Borrowed {
    tty: File,
    ours: Pid,
    /// The process group that had the foreground (given back on drop);
    /// `None` when rolepick had it already.
    previous: Option<Pid>,
    mask: SigSet,
}

/// Why the terminal cannot be borrowed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No controlling terminal (a script, CI, a service).
    NoTerminal,
    /// Somebody other than the waiting client has the foreground: the shell
    /// at its prompt, or another program while a background job asks.
    NotTheirs,
}

/// A line typed at a prompt, or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub enum Typed {
    Line(String),
    /// An empty line, Ctrl-C or Ctrl-D.
    Skipped,
    /// The foreground went back to the shell (the waiting command gave up
    /// and exited), or the terminal is gone.
    Lost,
}

impl Drop for Typed {
    fn drop(&mut self) {
        if let Typed::Line(s) = self {
            s.zeroize();
        }
    }
}

/// How often a prompt checks that it still has the foreground.
const CHECK: Duration = Duration::from_millis(50);

impl Borrowed {
    /// Takes the terminal's foreground if rolepick has it already, or if the
    /// process group that has it is `waiting` (the client's, see
    /// [`client_process_group`]).
    pub fn take(waiting: Option<Pid>) -> Result<Borrowed, Refused> {
        let tty = File::options()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map_err(|_| Refused::NoTerminal)?;
        let fg = termios::tcgetpgrp(&tty).map_err(|_| Refused::NoTerminal)?;
        let ours = rustix::process::getpgrp();
        let previous = if fg == ours {
            None
        } else if Some(fg) == waiting {
            Some(fg)
        } else {
            return Err(Refused::NotTheirs);
        };
        let mut block = SigSet::empty();
        block.add(Signal::SIGTTOU);
        block.add(Signal::SIGTTIN);
        let mask = block
            .thread_swap_mask(SigmaskHow::SIG_BLOCK)
            .map_err(|_| Refused::NoTerminal)?;
        if previous.is_some() {
            if let Err(_e) = termios::tcsetpgrp(&tty, ours) {
                let _ = mask.thread_set_mask();
                return Err(Refused::NoTerminal);
            }
        }
        Ok(Borrowed {
            tty,
            ours,
            previous,
            mask,
        })
    }

    /// Writes `text`.
    pub fn say(&mut self, text: &str) {
        let _ = self.tty.write_all(text.as_bytes());
        let _ = self.tty.flush();
    }

    fn still_ours(&self) -> bool {
        termios::tcgetpgrp(&self.tty).is_ok_and(|fg| fg == self.ours)
    }

    /// Reads a line after `prompt`, echoed when `echo` (an MFA code) and not
    /// (a passphrase). The terminal stays in the line mode the command left
    /// it in (the kernel echoes and edits): were the command to exit while
    /// rolepick asks, its shell would keep that mode as its own, so nothing
    /// else is changed unless the line mode is off (a full-screen program)
    /// or the passphrase must not echo.
    pub fn read_line(&mut self, prompt: &str, echo: bool) -> Typed {
        let saved = termios::tcgetattr(&self.tty).ok();
        let changed = saved.as_ref().and_then(|t| {
            let want = line_mode(t, echo);
            let same = want.local_modes == t.local_modes && want.input_modes == t.input_modes;
            (!same).then_some(want)
        });
        if let Some(t) = &changed {
            let _ = termios::tcsetattr(&self.tty, OptionalActions::Now, t);
        }
        self.say(prompt);
        // A code is trimmed; a passphrase is taken as typed (spaces count).
        let got = self.read_loop(echo);
        if !echo && !matches!(got, Typed::Lost) {
            self.say("\n");
        }
        if let (Some(_), Some(t)) = (&changed, &saved) {
            let _ = termios::tcsetattr(&self.tty, OptionalActions::Now, t);
        }
        got
    }

    fn read_loop(&mut self, trim: bool) -> Typed {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        // Ctrl-C reaches rolepick as SIGINT (it has the foreground now).
        let interrupted = Arc::new(AtomicBool::new(false));
        let sig =
            signal_hook::flag::register(signal_hook::consts::SIGINT, interrupted.clone()).ok();
        let tick = Timespec {
            tv_sec: 0,
            tv_nsec: i64::try_from(CHECK.as_nanos()).unwrap_or(50_000_000),
        };
        let mut line: Vec<u8> = Vec::new();
        let got = loop {
            if interrupted.load(Ordering::SeqCst) {
                self.say("\n");
                break Typed::Skipped;
            }
            if !self.still_ours() {
                break Typed::Lost;
            }
            let mut fds = [PollFd::new(&self.tty, PollFlags::IN)];
            match poll(&mut fds, Some(&tick)) {
                Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                Ok(_) => {}
                Err(_) => break Typed::Lost,
            }
            let mut buf = [0u8; 256];
            let n = match rustix::io::read(&self.tty, &mut buf) {
                // Ctrl-D on an empty line.
                Ok(0) => {
                    self.say("\n");
                    break Typed::Skipped;
                }
                Ok(n) => n,
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => continue,
                Err(_) => break Typed::Lost,
            };
            line.extend_from_slice(&buf[..n]);
            buf.zeroize();
            if let Some(end) = line.iter().position(|&b| b == b'\n' || b == b'\r') {
                line.truncate(end);
                let mut all = String::from_utf8_lossy(&line).into_owned();
                let text = if trim { all.trim() } else { &all }.to_string();
                all.zeroize();
                break if text.is_empty() {
                    Typed::Skipped
                } else {
                    Typed::Line(text)
                };
            }
        };
        line.zeroize();
        if let Some(id) = sig {
            signal_hook::low_level::unregister(id);
        }
        got
    }
}

/// `t` with the kernel's line mode on: whole lines, Enter ends them,
/// Ctrl-C signals; echo as asked.
fn line_mode(t: &Termios, echo: bool) -> Termios {
    let mut want = t.clone();
    want.local_modes
        .insert(LocalModes::ICANON | LocalModes::ISIG | LocalModes::ECHOE);
    want.input_modes.insert(InputModes::ICRNL);
    if echo {
        want.local_modes.insert(LocalModes::ECHO);
    } else {
        want.local_modes.remove(LocalModes::ECHO);
    }
    want
}

impl Drop for Borrowed {
    fn drop(&mut self) {
        if let Some(p) = self.previous {
            // Only if still ours: the shell may have taken it back already
            // (its command exited), and then it is the shell's to keep. If
            // the group is gone, the shell takes it back when it notices.
            if self.still_ours() {
                let _ = termios::tcsetpgrp(&self.tty, p);
            }
        }
        let _ = self.mask.thread_set_mask();
    }
}

/// The process group of the local process that opened the TCP connection
/// from `peer` to `local` (both on 127.0.0.1), found through `/proc`.
/// `None` when it cannot be told (not Linux, not this user's process).
pub fn client_process_group(peer: SocketAddr, local: SocketAddr) -> Option<Pid> {
    let inode = socket_inode(&std::fs::read_to_string("/proc/net/tcp").ok()?, peer, local)?;
    let pid = socket_owner(inode)?;
    rustix::process::getpgid(Some(pid)).ok()
}

/// `/proc/net/tcp` address (`0100007F:1F90`) of an IPv4 socket address.
fn proc_addr(a: SocketAddr) -> Option<String> {
    match a {
        SocketAddr::V4(v4) => Some(format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        )),
        SocketAddr::V6(_) => None,
    }
}

/// The inode of the socket whose local end is `peer` and remote end `local`
/// in a `/proc/net/tcp` table.
fn socket_inode(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u64> {
    let (from, to) = (proc_addr(peer)?, proc_addr(local)?);
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 9 && f[1] == from && f[2] == to)
            .then(|| f[9].parse().ok())
            .flatten()
    })
}

/// The process holding socket `inode` open (searched among the processes
/// whose descriptors this user may read).
fn socket_owner(inode: u64) -> Option<Pid> {
    let target = format!("socket:[{inode}]");
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.as_os_str() == target.as_str()) {
                return i32::try_from(pid).ok().and_then(Pid::from_raw);
            }
        }
    }
    None
}

/// Writes to the terminal without borrowing it (a note for the user while a
/// shell has the foreground); falls back to stderr. Called on the
/// endpoint's thread, which blocks SIGTTOU, so that under `stty tostop` the
/// write from the background does not stop rolepick.
pub fn tell(text: &str) {
    match File::options().write(true).open("/dev/tty") {
        Ok(mut tty) => {
            let _ = write!(tty, "\r\n{}\r\n", text.replace('\n', "\r\n"));
        }
        Err(_) => eprintln!("{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_addresses_are_little_endian_ip_and_big_endian_port() {
        let a: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(proc_addr(a).unwrap(), "0100007F:1F90");
    }

    #[test]
    fn the_clients_socket_is_found_by_both_ends() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 111 1 0 100 0 0 10 0\n\
   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 222 1 0 20 4 30 10 -1\n\
   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0 20 4 30 10 -1\n";
        let server: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:54321".parse().unwrap();
        assert_eq!(socket_inode(table, client, server), Some(222));
        assert_eq!(socket_inode(table, server, client), Some(333));
        let other: SocketAddr = "127.0.0.1:54322".parse().unwrap();
        assert_eq!(socket_inode(table, other, server), None);
    }

    #[test]
    fn a_real_connection_is_traced_to_this_process_group() {
        // A child process connects; its process group is this test's.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import socket,time; s=socket.create_connection(('127.0.0.1',{})); time.sleep(5)",
                    addr.port()
                ),
            ])
            .spawn()
            .unwrap();
        let (_conn, peer) = listener.accept().unwrap();
        let pg = client_process_group(peer, addr);
        let _ = child.kill();
        let _ = child.wait();
        if std::path::Path::new("/proc/net/tcp").exists() {
            assert_eq!(pg, Some(rustix::process::getpgrp()));
        }
    }
}
