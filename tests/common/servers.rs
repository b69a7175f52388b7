//! Local servers for the AWS tests: moto (S3 + DynamoDB) in server mode on 127.0.0.1.
#![allow(dead_code)]

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn venv_bin(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    p.exists().then_some(p)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A moto server for one test; killed on drop.
pub struct Moto {
    pub child: Child,
    pub port: u16,
}

impl Moto {
    /// None (test skipped) when moto is not installed, except under CI where that is a failure.
    pub fn start() -> Option<Moto> {
        let Some(bin) = venv_bin("moto_server") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install moto (scripts/install-test-tools.sh)"
            );
            eprintln!("skipping: run scripts/install-test-tools.sh to install moto");
            return None;
        };
        let port = free_port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let m = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if s.read(&mut buf).map(|n| n > 0).unwrap_or(false) {
                    return Some(m);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto did not start on port {port}");
    }
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn s3(url: &str) -> aws_sdk_s3::Client {
    s3_with_secret(url, "test")
}

pub fn make_bucket(rt: &tokio::runtime::Runtime, url: &str, bucket: &str) {
    rt.block_on(s3(url).create_bucket().bucket(bucket).send())
        .unwrap();
}

/// What most S3 tests start from: moto with the bucket `bkt`, a runtime and a scratch folder.
/// None (test skipped) when moto is not installed, except under CI (see [`Moto::start`]).
pub fn moto_with_bucket() -> Option<(Moto, tokio::runtime::Runtime, tempfile::TempDir)> {
    let moto = Moto::start()?;
    let rt = rt();
    make_bucket(&rt, &moto.url(), "bkt");
    Some((moto, rt, tempfile::tempdir().unwrap()))
}

pub fn dynamodb(url: &str) -> aws_sdk_dynamodb::Client {
    let http = prep::aws::http_client();
    let conf = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .http_client(http)
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(url)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// `prep` with the test credentials in its environment.
pub fn prep_aws() -> assert_cmd::Command {
    let mut c = super::prep();
    c.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret-do-not-print")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE");
    c
}

/// s3s-fs: an S3 server over a local folder that rejects bad digests and keeps its state across a
/// restart (so an upload can be resumed after the server was killed).
pub struct S3sFs {
    pub child: Child,
    pub port: u16,
    pub root: PathBuf,
}

pub const S3S_SECRET: &str = "test-secret-do-not-print";

impl S3sFs {
    pub fn bin() -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/s3s-fs/bin/s3s-fs");
        if p.exists() {
            return Some(p);
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install s3s-fs (scripts/install-test-tools.sh)"
        );
        eprintln!("skipping: run scripts/install-test-tools.sh to install s3s-fs");
        None
    }

    pub fn start(bin: &Path, root: &Path) -> S3sFs {
        std::fs::create_dir_all(root).unwrap();
        let port = free_port();
        let child = Command::new(bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--access-key",
                "test",
                "--secret-key",
                S3S_SECRET,
            ])
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        S3sFs {
            child,
            port,
            root: root.to_path_buf(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn s3_with_secret(url: &str, secret: &str) -> aws_sdk_s3::Client {
    let http = prep::aws::http_client();
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", secret, None, None, "tests"))
        .endpoint_url(url)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Answer a connection as S3 does when it throttles: read the request head, reply 503 SlowDown,
/// close (for fault-injecting proxies).
pub fn answer_slow_down(client: &mut TcpStream) {
    let mut head = [0u8; 4096];
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = client.read(&mut head);
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    let _ = write!(
        client,
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.shutdown(std::net::Shutdown::Both);
}

/// A TCP proxy in front of a local S3 server that injects the faults S3 clients meet: the first
/// `slowdowns` connections answered 503 SlowDown, requests cut off after `cut_after` bytes of
/// their body were carried (`cuts` times), and an upstream that can be switched (a server killed
/// and started again elsewhere) or be down (connections closed at once).
pub struct FaultProxy {
    pub port: u16,
    pub upstream: std::sync::Arc<std::sync::atomic::AtomicU16>,
    pub cuts_left: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub slowdowns_left: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Request bytes carried to the server, all connections together.
    pub sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Once `sent` reaches this, requests stall (the client waits) until it is raised.
    pub hold_at: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FaultProxy {
    pub fn start(upstream: u16, cut_after: usize, cuts: usize, slowdowns: usize) -> FaultProxy {
        use std::net::Shutdown;
        use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicU16::new(upstream));
        let cuts_left = Arc::new(AtomicUsize::new(cuts));
        let slowdowns_left = Arc::new(AtomicUsize::new(slowdowns));
        let sent = Arc::new(AtomicU64::new(0));
        let hold_at = Arc::new(AtomicU64::new(u64::MAX));
        let (up2, cuts2, slow2, sent2, hold2) = (
            up.clone(),
            cuts_left.clone(),
            slowdowns_left.clone(),
            sent.clone(),
            hold_at.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut client) = conn else { continue };
                let slow = slow2
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1))
                    .is_ok();
                if slow {
                    answer_slow_down(&mut client);
                    continue;
                }
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", up2.load(Ordering::SeqCst)))
                else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (cuts, sent, hold) = (cuts2.clone(), sent2.clone(), hold2.clone());
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut carried = 0usize;
                    loop {
                        while sent.load(Ordering::SeqCst) >= hold.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        let n = match c2.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if carried + n > cut_after
                            && cuts
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                                    c.checked_sub(1)
                                })
                                .is_ok()
                        {
                            let _ = s2.write_all(&buf[..cut_after.saturating_sub(carried)]);
                            break;
                        }
                        carried += n;
                        sent.fetch_add(n as u64, Ordering::SeqCst);
                        if s2.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = s2.shutdown(Shutdown::Both);
                    let _ = c2.shutdown(Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(Shutdown::Both);
                });
            }
        });
        FaultProxy {
            port,
            upstream: up,
            cuts_left,
            slowdowns_left,
            sent,
            hold_at,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Wait until requests stall at `hold_at` (panics after a minute).
    pub fn wait_held(&self) {
        use std::sync::atomic::Ordering;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.sent.load(Ordering::SeqCst) < self.hold_at.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the run never sent that much");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn release(&self) {
        self.hold_at
            .store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
    }
}
