//! `crm-http healthcheck`: asks the running service's liveness endpoint, for container
//! health checks in an image that has no HTTP client (no curl, no shell).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context};

/// How long connecting, writing and reading may each take.
const TIMEOUT: Duration = Duration::from_secs(3);

/// `GET path` on `127.0.0.1:port` over plain HTTP/1.0; `Ok` on a 2xx status.
///
/// # Errors
/// When the service does not answer in time or answers with another status.
pub fn probe(port: u16, path: &str) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .with_context(|| format!("connecting to {addr}"))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: crm-http-healthcheck\r\n\r\n"
    )
    .context("sending the request")?;
    let mut head = [0_u8; 64];
    let mut read = 0;
    while read < 12 {
        let n = stream
            .read(&mut head[read..])
            .context("reading the answer")?;
        if n == 0 {
            break;
        }
        read += n;
    }
    let line = String::from_utf8_lossy(&head[..read]);
    let status = line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .context("not an HTTP answer")?;
    if status.starts_with('2') {
        Ok(())
    } else {
        bail!("{path} answered {status}")
    }
}
