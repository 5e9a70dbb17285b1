//! An sshd of a test's own on 127.0.0.1, for git over ssh and remote
//! screens.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// An sshd of the test's own on 127.0.0.1 (its own host key and
/// authorized key), stopped when dropped.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", ""])
        .arg("-f")
        .arg(path)
        .status()
        .expect("ssh-keygen (openssh-client; scripts/test installs it)")
        .success();
    assert!(ok, "ssh-keygen failed");
}

impl Sshd {
    pub fn start() -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(
            sshd.exists(),
            "/usr/sbin/sshd is missing: scripts/test installs openssh-server"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let user = whoami();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAllowUsers {user}\nPidFile {d}/sshd.pid\n",
                d = d.display()
            ),
        )
        .unwrap();
        // sshd wants its privilege separation folder when run as root.
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        super::wait_until("sshd to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Sshd { dir, port, child }
    }

    /// A `known_hosts` line for this server.
    pub fn known_host(&self) -> String {
        let key = std::fs::read_to_string(self.dir.path().join("host_key.pub")).unwrap();
        let mut parts = key.split_whitespace();
        format!(
            "[127.0.0.1]:{} {} {}\n",
            self.port,
            parts.next().unwrap(),
            parts.next().unwrap()
        )
    }
}

pub fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().expect("id -un");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Sshd {
    /// An ssh config file naming this server `box`, reached through `link`
    /// (its host key known, the test's key used).
    pub fn config_through(&self, link: &SlowLink) -> std::path::PathBuf {
        let d = self.dir.path();
        std::fs::write(
            d.join("known_hosts"),
            self.known_host()
                .replace(&format!("]:{} ", self.port), &format!("]:{} ", link.port)),
        )
        .expect("known_hosts");
        let config = d.join("ssh_config");
        std::fs::write(
            &config,
            format!(
                "Host box\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}/client_key\n  IdentitiesOnly yes\n  UserKnownHostsFile {}/known_hosts\n  StrictHostKeyChecking yes\n",
                link.port,
                whoami(),
                d.display(),
                d.display()
            ),
        )
        .expect("ssh_config");
        config
    }
}

/// A TCP relay on 127.0.0.1 that holds every byte `delay` in each
/// direction before passing it on: a link with latency, to a port here.
pub struct SlowLink {
    pub port: u16,
}

impl SlowLink {
    pub fn start(to_port: u16, delay: std::time::Duration) -> SlowLink {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the slow link");
        let port = listener.local_addr().expect("its port").port();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", to_port)) else {
                    continue;
                };
                for (from, to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ] {
                    if let (Ok(from), Ok(to)) = (from, to) {
                        delayed_pipe(from, to, delay);
                    }
                }
            }
        });
        SlowLink { port }
    }
}

/// Copies `from` to `to`, each piece `delay` after it was read, in order.
fn delayed_pipe(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    delay: std::time::Duration,
) {
    use std::io::{Read, Write};
    let (tx, rx) = std::sync::mpsc::channel::<(std::time::Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx
                        .send((std::time::Instant::now() + delay, buf[..n].to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        while let Ok((due, bytes)) = rx.recv() {
            // The link's latency itself, not a wait for an event.
            std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
            if to.write_all(&bytes).is_err() {
                return;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}
