//! `rolepick env PROFILE --format sh|fish|json|dotenv`: prints secrets by design.

use crate::aws::Credentials;
use crate::cli::{EnvArgs, EnvFormat, Global};
use crate::engine::Refresh;
use crate::error::Error;
use crate::model::Profile;
use crate::run::tty::CliMfa;
use crate::shell;
use std::io::Write;

fn sh_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

pub fn render(format: EnvFormat, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    match format {
        EnvFormat::Sh => {
            out.push_str("unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SECURITY_TOKEN\n");
            for (k, v) in vars {
                out.push_str(&format!("export {k}={}\n", sh_quote(v)));
            }
        }
        EnvFormat::Fish => {
            out.push_str(
                "set -e AWS_PROFILE; set -e AWS_DEFAULT_PROFILE; set -e AWS_SECURITY_TOKEN;\n",
            );
            for (k, v) in vars {
                out.push_str(&format!("set -gx {k} {};\n", sh_quote(v)));
            }
        }
        EnvFormat::Dotenv => {
            for (k, v) in vars {
                let v = serde_json::to_string(v).unwrap_or_default();
                out.push_str(&format!("{k}={v}\n"));
            }
        }
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::Value::String(v.clone())))
                .collect();
            out = serde_json::to_string_pretty(&map).unwrap_or_default();
            out.push('\n');
        }
    }
    out
}

pub fn run(args: &EnvArgs, global: &Global) -> Result<u8, Error> {
    let mfa = CliMfa::from_args(&args.mfa)?;
    let engine = crate::engine::Engine::load_for(&global.into(), &args.profile)?;
    let creds = engine.credentials(&args.profile, &mfa, Refresh::IfNeeded)?;
    let profile = engine.profile(&args.profile)?;
    print(args.format, profile, args.region.as_deref(), &creds)
}

/// Prints `profile`'s variables with `creds` in `format` (also the small
/// program's, on the warm path).
pub fn print(
    format: EnvFormat,
    profile: &Profile,
    region: Option<&str>,
    creds: &Credentials,
) -> Result<u8, Error> {
    let vars = shell::credential_vars(profile, region, creds);
    let text = zeroize::Zeroizing::new(render(format, &vars));
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}
