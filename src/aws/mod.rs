//! The AWS side every command shares: settings named as the AWS CLI names them, the SDK
//! configuration from the standard credential chain (with errors that say what to do), the S3
//! client, `s3://` URLs, and error text without request details.

pub(crate) mod object;

use anyhow::{bail, Result};
use aws_sdk_s3::Client;

/// S3 connection settings, as the AWS CLI names them.
#[derive(Clone, Debug, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub path_style: bool,
    pub max_attempts: u32,
}

/// What every object prep creates in S3 carries, and the bucket-owner check every request on the
/// destination makes.
#[derive(Clone, Debug, Default)]
pub struct PutSettings {
    pub expected_bucket_owner: Option<String>,
    /// `AES256` or `aws:kms`.
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub storage_class: Option<String>,
}

/// Apply [`PutSettings`] to a PutObject or CreateMultipartUpload request (their builders have
/// the same setters, but no common trait).
macro_rules! put_settings {
    ($settings:expr, $req:expr) => {{
        let s: &$crate::aws::PutSettings = $settings;
        let mut req = $req;
        if let Some(o) = &s.expected_bucket_owner {
            req = req.expected_bucket_owner(o);
        }
        if let Some(v) = &s.sse {
            req = req
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::from(v.as_str()));
        }
        if let Some(k) = &s.sse_kms_key_id {
            req = req.ssekms_key_id(k);
        }
        if let Some(c) = &s.storage_class {
            req = req.storage_class(aws_sdk_s3::types::StorageClass::from(c.as_str()));
        }
        req
    }};
}
pub(crate) use put_settings;

/// Parse `s3://bucket/prefix/` into (bucket, prefix with a trailing slash or empty).
pub fn parse_s3_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| anyhow::anyhow!("{url:?} is not an s3://bucket/prefix/ URL"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        bail!("{url:?} has no bucket name");
    }
    let mut prefix = prefix.trim_start_matches('/').to_string();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok((bucket.to_string(), prefix))
}

/// The HTTP client for every AWS call: rustls with ring (no aws-lc C build).
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The shared AWS configuration: standard credential chain, region, endpoint, retries, and a
/// rustls (ring) HTTPS client.
pub async fn sdk_config(aws: &AwsOptions) -> Result<aws_config::SdkConfig> {
    if let Some(p) = &aws.profile {
        check_profile(p)?;
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(aws.max_attempts.max(1)),
        );
    if let Some(p) = &aws.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &aws.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(u) = &aws.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let conf = loader.load().await;
    if conf.region().is_none() {
        anyhow::bail!(
            "no AWS region is set: pass --region (e.g. --region us-east-1), set AWS_REGION, or give your AWS profile a region (aws configure{})",
            aws.profile.as_ref().map(|p| format!(" --profile {p}")).unwrap_or_default()
        );
    }
    Ok(conf)
}

/// The AWS files a profile can be in: `AWS_CONFIG_FILE` (`~/.aws/config`) with `[profile NAME]`
/// (or `[default]`) sections, and `AWS_SHARED_CREDENTIALS_FILE` (`~/.aws/credentials`) with
/// `[NAME]` sections.
fn aws_files() -> [(std::path::PathBuf, bool); 2] {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let file = |var: &str, name: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| home.join(".aws").join(name))
    };
    [
        (file("AWS_CONFIG_FILE", "config"), true),
        (file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false),
    ]
}

/// A `--profile` that no AWS file defines is named as such (the SDK would go on without it and
/// fail later with "A region must be set").
fn check_profile(name: &str) -> Result<()> {
    let files = aws_files();
    for (path, is_config) in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let found = text.lines().any(|l| {
            let Some(section) = l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                return false;
            };
            let section = section.trim();
            if *is_config {
                section
                    .strip_prefix("profile ")
                    .map(str::trim)
                    .map_or(section == "default" && name == "default", |s| s == name)
            } else {
                section == name
            }
        });
        if found {
            return Ok(());
        }
    }
    anyhow::bail!(
        "AWS profile {name:?} is not defined in {} or {}; check its name (aws configure list-profiles) or create it (aws configure --profile {name})",
        files[0].0.display(),
        files[1].0.display()
    )
}

pub async fn client(aws: &AwsOptions) -> Result<Client> {
    let conf = sdk_config(aws).await?;
    let s3 = aws_sdk_s3::config::Builder::from(&conf)
        .force_path_style(aws.path_style)
        .build();
    Ok(Client::from_conf(s3))
}

/// An S3 client with the runtime its calls run on, for code that is not async itself (the
/// readers and part writers call it from their own threads).
#[derive(Clone)]
pub struct Connection {
    pub rt: std::sync::Arc<tokio::runtime::Runtime>,
    pub client: Client,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("Connection")
    }
}

impl Connection {
    /// A client from the standard AWS configuration chain and `aws`'s settings.
    pub fn new(aws: &AwsOptions) -> Result<Connection> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the S3 client's runtime: {e}"))?;
        let client = rt.block_on(client(aws))?;
        Ok(Connection {
            rt: std::sync::Arc::new(rt),
            client,
        })
    }

    /// Run an S3 call to its end on this thread (which must not be a runtime thread).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// An object as ListObjectsV2 gives it.
#[derive(Clone, Debug)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

/// Every object under `prefix`, page by page, in key order.
pub async fn list_objects(
    client: &Client,
    bucket: &str,
    prefix: &str,
    owner: Option<&str>,
) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let mut req = client.list_objects_v2().bucket(bucket).prefix(prefix);
        if let Some(o) = owner {
            req = req.expected_bucket_owner(o);
        }
        if let Some(t) = token.take() {
            req = req.continuation_token(t);
        }
        let page = req
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot list s3://{bucket}/{prefix}: {}", describe(&e)))?;
        for o in page.contents() {
            if let Some(k) = o.key() {
                out.push(Listed {
                    key: k.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    etag: o.e_tag().map(String::from),
                });
            }
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// Base64 as S3's checksum headers carry it.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The error chain of an SDK error, without request details (no credentials ever).
pub fn describe<E: std::error::Error>(e: &E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    if no_credentials(&s) {
        return format!("{NO_CREDENTIALS} (the AWS SDK: {s})");
    }
    s
}

/// What to do when the SDK found no credentials, said before its own words.
const NO_CREDENTIALS: &str = "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass --profile NAME of a configured profile (aws configure, or aws sso login for SSO), or run where an instance or task role provides them";

/// Whether an SDK error chain says that no credentials could be loaded.
fn no_credentials(chain: &str) -> bool {
    [
        "no providers in chain provided credentials",
        "failed to load IMDS session token",
        "credential provider was not enabled",
        "no credentials found in chain",
        "CredentialsNotLoaded",
        "could not load credentials",
    ]
    .iter()
    .any(|p| chain.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK's words for missing credentials lead with what to set.
    #[test]
    fn missing_credentials_say_what_to_set() {
        let e = std::io::Error::other(
            "dispatch failure: other: the credential provider was not enabled: no credentials found in chain",
        );
        let d = describe(&e);
        assert!(
            d.starts_with("no AWS credentials were found: set AWS_ACCESS_KEY_ID"),
            "{d}"
        );
        assert!(d.contains("(the AWS SDK: dispatch failure"), "{d}");
        let other = std::io::Error::other("NoSuchBucket");
        assert_eq!(describe(&other), "NoSuchBucket");
    }

    #[test]
    fn s3_urls() {
        assert_eq!(parse_s3_url("s3://b/p").unwrap(), ("b".into(), "p/".into()));
        assert_eq!(
            parse_s3_url("s3://b/p/q/").unwrap(),
            ("b".into(), "p/q/".into())
        );
        assert_eq!(parse_s3_url("s3://b").unwrap(), ("b".into(), "".into()));
        assert!(parse_s3_url("b/p").is_err());
        assert!(parse_s3_url("s3:///p").is_err());
    }
}
