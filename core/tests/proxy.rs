//! The SDK behind an HTTP proxy (issue 22): a real proxy (Debian's tinyproxy, installed by
//! `scripts/toolchains.sh proxy`) on loopback, `HTTPS_PROXY` naming it, and a whole call
//! against `dialtone-mock --tls`: REST, GraphQL and the three WebSockets (real-time, event
//! channel, signaling) all reach the mock through CONNECT tunnels, as the proxy's log shows.
//!
//! The environment is the process's, so this binary holds this one test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dialtone_mock::{tls, MockConfig, Profile};
mod common;

struct Proxy {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    /// tinyproxy on 127.0.0.1 at a free port, tunnelling only to `mock_port`.
    fn start(mock_port: u16) -> Proxy {
        let bin = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("tinyproxy is installed: bash scripts/toolchains.sh proxy");
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("tinyproxy.log");
        let conf = dir.path().join("tinyproxy.conf");
        // Root runs it as itself only when told to (tinyproxy drops to `nobody` otherwise,
        // who cannot write the log in the test's directory).
        std::fs::write(
            &conf,
            format!(
                "User root\nGroup root\nPort {port}\nListen 127.0.0.1\nTimeout 30\n\
                 LogFile \"{}\"\nLogLevel Connect\nMaxClients 64\nAllow 127.0.0.1\n\
                 ConnectPort {mock_port}\n",
                log.display()
            ),
        )
        .unwrap();
        let mut child = Command::new(bin)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tinyproxy starts");
        for _ in 0..250 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Proxy {
                    child,
                    port,
                    log,
                    _dir: dir,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(e) = child.stderr.take() {
                    for line in BufReader::new(e).lines().map_while(Result::ok) {
                        err.push_str(&line);
                        err.push('\n');
                    }
                }
                panic!("tinyproxy exited ({status}): {err}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("tinyproxy did not listen on {port}");
    }

    /// The CONNECT requests it logged for `host_port`.
    fn connects_to(&self, host_port: &str) -> usize {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains(&format!("CONNECT {host_port} ")))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_goes_through_an_https_proxy() {
    let m = common::start_mock(MockConfig {
        profile: Profile::Extended,
        tls: Some(tls::development(&[]).unwrap()),
        ..MockConfig::default()
    })
    .await;
    let target = m.addr().to_string();
    let proxy = Proxy::start(m.addr().port());
    // Only HTTPS_PROXY: every URL of a TLS mock is https or wss.
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
        "https_proxy",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTPS_PROXY", format!("http://127.0.0.1:{}", proxy.port));

    // The whole call waits for every socket to end with the client's 1000: both phones'
    // event channel and signaling, Bob's real-time subscription.
    common::whole_call(&m).await;
    let sockets = 5;
    let tunnels = proxy.connects_to(&target);
    assert!(
        tunnels >= sockets + 2,
        "{tunnels} CONNECTs to {target} in the proxy's log; expected the {} sockets and both \
         phones' HTTP connections:\n{}",
        sockets,
        std::fs::read_to_string(&proxy.log).unwrap_or_default()
    );
}
