//! The AWS console's federation endpoint: `Action=getSigninToken` turns a
//! role's temporary credentials into a sign-in token, and the login URL
//! (`Action=login&Issuer=rolepick&Destination=…&SigninToken=…`) signs a
//! browser in with it. Also which sign-in and console hosts belong to a
//! role's partition (`aws`, `aws-cn`, `aws-us-gov`), and where the browser
//! lands (`Destination`).
//!
//! The call is one HTTPS GET through the SDK's own HTTP stack (hyper with
//! rustls, already compiled in for STS), so the console works wherever STS
//! does. The session credentials, the token and the URL are held in
//! [`SecretString`]s and never appear in an error; copies the HTTP stack
//! makes of the request line are out of our reach.
//!
//! `ROLEPICK_SIGNIN_ENDPOINT` (the full URL up to `/federation`) replaces
//! the partition's endpoint, for tests and the demo.

use super::Credentials;
use crate::secret::SecretString;
use aws_smithy_runtime_api::client::http::HttpConnector;
use std::time::Duration;
use zeroize::Zeroizing;

/// Replaces the federation endpoint (`https://signin.aws.amazon.com/federation`).
pub const ENDPOINT_VAR: &str = "ROLEPICK_SIGNIN_ENDPOINT";

/// The `Issuer` the login URL names (shown by the console on sign-out).
pub const ISSUER: &str = "rolepick";

/// How long the whole `getSigninToken` call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest answer read from the endpoint (a token is about 1 KiB).
const MAX_REPLY: usize = 64 * 1024;

/// The AWS partitions with a console sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    Aws,
    China,
    GovCloud,
}

impl Partition {
    /// The partition of an ARN (`arn:aws-cn:iam::…`), or the name found
    /// there when it is not one rolepick can sign in to.
    pub fn of_arn(arn: &str) -> Result<Partition, String> {
        let name = arn.split(':').nth(1).unwrap_or("");
        match name {
            "aws" => Ok(Partition::Aws),
            "aws-cn" => Ok(Partition::China),
            "aws-us-gov" => Ok(Partition::GovCloud),
            other => Err(other.to_string()),
        }
    }

    /// The partition's federation endpoint.
    pub fn signin_endpoint(self) -> &'static str {
        match self {
            Partition::Aws => "https://signin.aws.amazon.com/federation",
            Partition::China => "https://signin.amazonaws.cn/federation",
            Partition::GovCloud => "https://signin.amazonaws-us-gov.com/federation",
        }
    }

    /// The console's domain: a console URL's host is this or a subdomain.
    pub fn console_domain(self) -> &'static str {
        match self {
            Partition::Aws => "console.aws.amazon.com",
            Partition::China => "console.amazonaws.cn",
            Partition::GovCloud => "console.amazonaws-us-gov.com",
        }
    }
}

/// The federation endpoint to call: `ROLEPICK_SIGNIN_ENDPOINT` when set
/// (checked to be an http(s) URL), else the partition's.
pub fn endpoint(partition: Partition) -> Result<String, String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(v) if !v.is_empty() => {
            let ok = url::Url::parse(&v).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if ok {
                Ok(v)
            } else {
                Err(format!(
                    "{ENDPOINT_VAR}={v:?} is not an http(s) URL without a query; set it to the federation endpoint's full URL, e.g. https://signin.aws.amazon.com/federation, or unset it."
                ))
            }
        }
        _ => Ok(partition.signin_endpoint().to_string()),
    }
}

/// Where the browser lands after signing in: the console home in `region`
/// (`dest` absent), a service's console in `region` (`dest` = `s3`,
/// `cloudwatch`, …), or a console URL of the partition as it is.
pub fn destination(
    partition: Partition,
    region: Option<&str>,
    dest: Option<&str>,
) -> Result<String, String> {
    let domain = partition.console_domain();
    let service = match dest.map(str::trim) {
        None | Some("" | "console" | "home") => "console",
        Some(d) if d.contains(':') || d.contains('/') => return console_url(partition, d),
        Some(d) => {
            let ok = d
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !d.starts_with('-');
            if !ok {
                return Err(format!(
                    "--destination {d:?} is neither a service name (s3, ec2, cloudwatch, …: lower-case letters, digits and dashes) nor an https URL on {domain}."
                ));
            }
            d
        }
    };
    Ok(match (partition, region) {
        (Partition::Aws, Some(r)) => {
            format!("https://{r}.{domain}/{service}/home?region={r}")
        }
        (_, Some(r)) => format!("https://{domain}/{service}/home?region={r}"),
        (_, None) => format!("https://{domain}/{service}/home"),
    })
}

/// `dest` if it is an https URL on the partition's console domain.
fn console_url(partition: Partition, dest: &str) -> Result<String, String> {
    let domain = partition.console_domain();
    let refuse = |why: &str| {
        Err(format!(
            "--destination {dest:?} {why}; give a service name (s3, ec2, …) or an https URL on {domain}."
        ))
    };
    let Ok(u) = url::Url::parse(dest) else {
        return refuse("is not a URL");
    };
    if u.scheme() != "https" {
        return refuse("is not an https URL");
    }
    let host_ok = u
        .host_str()
        .is_some_and(|h| h == domain || h.ends_with(&format!(".{domain}")));
    if !host_ok || !u.username().is_empty() || u.password().is_some() || u.port().is_some() {
        return refuse("is not on the console of the role's partition");
    }
    Ok(u.to_string())
}

/// Why `getSigninToken` gave no token.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The endpoint answered, without a token.
    #[error("{endpoint} refused the credentials ({detail})")]
    Refused { endpoint: String, detail: String },
    /// No answer: connection refused, DNS, TLS, timeout, or a server error.
    #[error("cannot reach {endpoint}: {detail}")]
    Unreachable { endpoint: String, detail: String },
}

/// The `Session` parameter: the role's temporary credentials as JSON.
fn session_json(creds: &Credentials) -> Zeroizing<String> {
    #[derive(serde::Serialize)]
    struct Session<'a> {
        #[serde(rename = "sessionId")]
        id: &'a str,
        #[serde(rename = "sessionKey")]
        key: &'a str,
        #[serde(rename = "sessionToken")]
        token: &'a str,
    }
    // Sized up front so that no copy is left behind by a reallocation.
    let mut buf = Zeroizing::new(Vec::with_capacity(
        64 + creds.access_key_id.len()
            + 2 * (creds.secret_access_key.expose().len() + creds.session_token.expose().len()),
    ));
    let session = Session {
        id: &creds.access_key_id,
        key: creds.secret_access_key.expose(),
        token: creds.session_token.expose(),
    };
    if serde_json::to_writer(&mut *buf, &session).is_err() {
        buf.clear();
    }
    Zeroizing::new(String::from_utf8(std::mem::take(&mut *buf)).unwrap_or_default())
}

/// `endpoint?k=v&…`, the values form-encoded.
fn with_query(endpoint: &str, pairs: &[(&str, &str)]) -> Zeroizing<String> {
    // Sized for the worst case (every byte percent-encoded) so that no
    // copy is left behind by a reallocation.
    let room = pairs.iter().map(|(k, v)| k.len() + 3 * v.len() + 2).sum();
    let mut q = url::form_urlencoded::Serializer::new(String::with_capacity(room));
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let q = Zeroizing::new(q.finish());
    Zeroizing::new(format!("{endpoint}?{}", q.as_str()))
}

/// The innermost error's message: "Connection refused (os error 111)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// `Action=getSigninToken` for the role credentials `creds`.
pub async fn get_signin_token(
    endpoint: &str,
    creds: &Credentials,
) -> Result<SecretString, FederationError> {
    let unreachable = |detail: String| FederationError::Unreachable {
        endpoint: endpoint.to_string(),
        detail,
    };
    let refused = |detail: String| FederationError::Refused {
        endpoint: endpoint.to_string(),
        detail,
    };
    let session = session_json(creds);
    let uri = with_query(
        endpoint,
        &[("Action", "getSigninToken"), ("Session", session.as_str())],
    );
    let mut req = aws_smithy_runtime_api::http::Request::get(uri.as_str())
        .map_err(|_| unreachable("the endpoint is not a valid URL".into()))?;
    req.headers_mut().insert(
        "user-agent",
        concat!("rolepick/", env!("CARGO_PKG_VERSION")),
    );
    let conn = aws_smithy_http_client::Connector::builder()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build();
    let call = async {
        let resp = conn
            .call(req)
            .await
            .map_err(|e| unreachable(root_cause(&e)))?;
        let status = resp.status().as_u16();
        let body = aws_smithy_types::byte_stream::ByteStream::new(resp.into_body())
            .collect()
            .await
            .map_err(|e| unreachable(root_cause(&e)))?
            .into_bytes();
        Ok::<_, FederationError>((status, body))
    };
    let (status, body) = tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| unreachable(format!("no answer within {}s", CALL_TIMEOUT.as_secs())))??;
    match status {
        200 => {}
        429 | 500..=599 => return Err(unreachable(format!("HTTP {status}"))),
        _ => return Err(refused(format!("HTTP {status}"))),
    }
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(rename = "SigninToken")]
        token: Option<String>,
    }
    if body.len() > MAX_REPLY {
        return Err(refused("an answer too large to be a sign-in token".into()));
    }
    let reply: Reply = serde_json::from_slice(&body)
        .map_err(|_| refused("HTTP 200 without a JSON answer".into()))?;
    match reply.token {
        Some(t) if !t.is_empty() => Ok(SecretString::new(t)),
        _ => Err(refused("HTTP 200 without a SigninToken".into())),
    }
}

/// The login URL: signs the browser in with `token` and lands on `destination`.
pub fn login_url(endpoint: &str, destination: &str, token: &SecretString) -> SecretString {
    let url = with_query(
        endpoint,
        &[
            ("Action", "login"),
            ("Issuer", ISSUER),
            ("Destination", destination),
            ("SigninToken", token.expose()),
        ],
    );
    SecretString::new(url.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_comes_from_the_role_arn() {
        assert_eq!(
            Partition::of_arn("arn:aws:iam::111122223333:role/a"),
            Ok(Partition::Aws)
        );
        assert_eq!(
            Partition::of_arn("arn:aws-cn:iam::111122223333:role/a"),
            Ok(Partition::China)
        );
        assert_eq!(
            Partition::of_arn("arn:aws-us-gov:iam::111122223333:role/a"),
            Ok(Partition::GovCloud)
        );
        assert_eq!(
            Partition::of_arn("arn:aws-iso:iam::111122223333:role/a"),
            Err("aws-iso".to_string())
        );
        assert_eq!(
            Partition::China.signin_endpoint(),
            "https://signin.amazonaws.cn/federation"
        );
        assert_eq!(
            Partition::GovCloud.signin_endpoint(),
            "https://signin.amazonaws-us-gov.com/federation"
        );
    }

    #[test]
    fn the_destination_is_the_console_home_or_a_service_in_the_region() {
        let d = |p, r, x| destination(p, r, x).unwrap();
        assert_eq!(
            d(Partition::Aws, Some("eu-west-1"), None),
            "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"
        );
        assert_eq!(
            d(Partition::Aws, Some("eu-west-3"), Some("s3")),
            "https://eu-west-3.console.aws.amazon.com/s3/home?region=eu-west-3"
        );
        assert_eq!(
            d(Partition::Aws, None, None),
            "https://console.aws.amazon.com/console/home"
        );
        assert_eq!(
            d(Partition::China, Some("cn-north-1"), Some("ec2")),
            "https://console.amazonaws.cn/ec2/home?region=cn-north-1"
        );
        assert_eq!(
            d(Partition::GovCloud, Some("us-gov-west-1"), None),
            "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"
        );
    }

    #[test]
    fn a_console_url_is_taken_as_is_only_on_the_partitions_console() {
        let url =
            "https://us-east-1.console.aws.amazon.com/lambda/home?region=us-east-1#/functions";
        assert_eq!(
            destination(Partition::Aws, Some("eu-west-1"), Some(url)).unwrap(),
            url
        );
        for bad in [
            "http://console.aws.amazon.com/s3/home",
            "https://evil.example/console.aws.amazon.com",
            "https://console.aws.amazon.com.evil.example/",
            "https://user@console.aws.amazon.com/",
            "https://console.amazonaws.cn/ec2/home",
            "javascript:alert(1)",
            "S3",
            "s3 ec2",
        ] {
            let e = destination(Partition::Aws, None, Some(bad)).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn the_login_url_carries_issuer_destination_and_token_encoded() {
        let token = SecretString::new("tok+en/=".into());
        let url = login_url(
            "https://signin.aws.amazon.com/federation",
            "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
            &token,
        );
        assert_eq!(
            url.expose(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=rolepick\
             &Destination=https%3A%2F%2Feu-west-1.console.aws.amazon.com%2Fconsole%2Fhome%3Fregion%3Deu-west-1\
             &SigninToken=tok%2Ben%2F%3D"
        );
        assert_eq!(format!("{url:?}"), "[redacted]");
    }

    #[test]
    fn the_session_json_has_the_three_fields_the_endpoint_expects() {
        let creds = Credentials {
            access_key_id: "ASIAROLE".into(),
            secret_access_key: SecretString::new("sk".into()),
            session_token: SecretString::new("st".into()),
            expiration: std::time::SystemTime::UNIX_EPOCH,
        };
        let v: serde_json::Value = serde_json::from_str(&session_json(&creds)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"sessionId": "ASIAROLE", "sessionKey": "sk", "sessionToken": "st"})
        );
    }
}
