//! `drover api --stdio`: the instance API of the home's running instance on
//! stdin and stdout, so a screen on another machine can reach it through
//! `ssh HOST drover api --stdio` (the user's own ssh: keys, config, jump
//! hosts). Bytes are relayed as they come; the instance does the rest.

use std::io::{Read, Write};
use std::path::Path;

use super::{EXIT_FAILED, EXIT_USAGE, Failure, Outcome};

pub fn stdio(root: &Path, stdio: bool) -> Outcome {
    if !stdio {
        return Err(Failure::new(
            EXIT_USAGE,
            "`drover api` speaks the instance API on stdin and stdout only: use `drover api --stdio`",
        ));
    }
    let socket = crate::control::socket_path(root);
    let stream = std::os::unix::net::UnixStream::connect(&socket).map_err(|_| {
        let home = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Failure::new(
            EXIT_FAILED,
            format!(
                "no instance runs on {}: start one there with `drover serve` (or give its home with --home)",
                crate::escape::line(&home.display().to_string())
            ),
        )
    })?;
    let (mut to_instance, mut from_instance) = match stream.try_clone() {
        Ok(other) => (stream, other),
        Err(e) => {
            return Err(Failure::new(
                EXIT_FAILED,
                format!("cannot use the socket: {e}"),
            ));
        }
    };
    // Client → instance on a thread; when the client closes, so does the
    // instance's side of the connection.
    std::thread::spawn(move || {
        let _ = relay(&mut std::io::stdin().lock(), &mut to_instance);
        let _ = to_instance.shutdown(std::net::Shutdown::Write);
    });
    let _ = relay(&mut from_instance, &mut std::io::stdout().lock());
    Ok(())
}

/// Copies until either side ends, flushing each piece as it comes.
fn relay(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])?;
        to.flush()?;
    }
}
