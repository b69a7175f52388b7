//! The AWS side every command shares: settings named as the AWS CLI names them, the SDK
//! configuration from the standard credential chain (with errors that say what to do), the S3
//! client, `s3://` URLs, and error text without request details.

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
    Ok(loader.load().await)
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

/// The error chain of an SDK error, without request details (no credentials ever).
pub fn describe<E: std::error::Error>(e: &E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

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
