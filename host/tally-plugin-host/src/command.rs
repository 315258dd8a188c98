//! A poller's status command filled in for one license server. The host and port come from
//! data (an operator's form, the API, a configuration file), so they are checked by
//! `tally_core::address` and may only fill the places the template gives them: a value can
//! never turn an argument into an option (`-file=/etc/shadow`) or add words or commands to one
//! (`x 4085; stopServer -force; connect y` inside DSLS's `connect {host} {port}; …`).

use tally_core::AddressError;
use thiserror::Error;

use crate::manifest::Manifest;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    #[error("plugin `{plugin}` has no status command (it is not a command poller)")]
    NoCommand { plugin: String },
    #[error("refusing to run the status command of `{plugin}`: {source}")]
    Address {
        plugin: String,
        source: AddressError,
    },
    /// A filled argument would start with `-` where the template's does not.
    #[error(
        "refusing to run the status command of `{plugin}`: argument `{template}` would become the option `{argument}`"
    )]
    Option {
        plugin: String,
        template: String,
        argument: String,
    },
}

impl Manifest {
    /// The poller's status command for the server at `host`/`port`: the tool name the
    /// operator maps to a program, then the arguments with `{host}` and `{port}` filled in
    /// (`{port}` empty without a port). No shell is involved; each element is one argument.
    pub fn status_command(
        &self,
        host: &str,
        port: Option<u16>,
    ) -> Result<Vec<String>, CommandError> {
        expand(&self.id, &self.command, host, port)
    }
}

/// [`Manifest::status_command`] for a template given apart from its manifest.
pub fn expand(
    plugin: &str,
    template: &[String],
    host: &str,
    port: Option<u16>,
) -> Result<Vec<String>, CommandError> {
    let Some((tool, args)) = template.split_first() else {
        return Err(CommandError::NoCommand {
            plugin: plugin.into(),
        });
    };
    tally_core::address::check_address(host, port.map(i64::from)).map_err(|source| {
        CommandError::Address {
            plugin: plugin.into(),
            source,
        }
    })?;
    let port = port.map(|p| p.to_string()).unwrap_or_default();
    let mut argv = Vec::with_capacity(template.len());
    argv.push(tool.clone());
    for arg in args {
        let filled = arg.replace("{host}", host).replace("{port}", &port);
        if filled.starts_with('-') && !arg.starts_with('-') {
            return Err(CommandError::Option {
                plugin: plugin.into(),
                template: arg.clone(),
                argument: filled,
            });
        }
        argv.push(filled);
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn placeholders_fill_their_arguments() {
        let lmstat = template(&["lmutil", "lmstat", "-a", "-c", "{port}@{host}"]);
        assert_eq!(
            expand("flexlm-lmstat", &lmstat, "lic1", Some(27000)),
            Ok(template(&["lmutil", "lmstat", "-a", "-c", "27000@lic1"]))
        );
        let dsls = template(&[
            "DSLicSrv",
            "-admin",
            "-run",
            "connect {host} {port}; getLicenseUsage -csv",
        ]);
        assert_eq!(
            expand("dsls-status", &dsls, "dsls1", Some(4085)),
            Ok(template(&[
                "DSLicSrv",
                "-admin",
                "-run",
                "connect dsls1 4085; getLicenseUsage -csv"
            ]))
        );
        let lsmon = template(&["lsmon", "{host}"]);
        assert_eq!(
            expand("sentinel-lsmon", &lsmon, "[::1]", None),
            Ok(template(&["lsmon", "[::1]"]))
        );
    }

    #[test]
    fn a_host_cannot_become_an_option() {
        let monitorlm = template(&["monitorlm", "{host}", "-format", "text"]);
        let error = expand("mathlm", &monitorlm, "-file=/etc/shadow", None).expect_err("option");
        assert_eq!(
            error.to_string(),
            "refusing to run the status command of `mathlm`: host `-file=/etc/shadow` starts with `-`: a host name or address never does"
        );
        // Even a template whose placeholder leads an argument, filled by a value that got
        // past the check some other way, never yields an option.
        assert_eq!(
            expand("p", &template(&["tool", "{port}{host}"]), "-x", None),
            Err(CommandError::Address {
                plugin: "p".into(),
                source: AddressError::HostIsOption { host: "-x".into() }
            })
        );
    }

    #[test]
    fn a_host_cannot_add_commands() {
        let dsls = template(&[
            "DSLicSrv",
            "-admin",
            "-run",
            "connect {host} {port}; getLicenseUsage -csv",
        ]);
        let error = expand(
            "dsls-status",
            &dsls,
            "x 4085; stopServer -force; connect y",
            Some(4085),
        )
        .expect_err("injection");
        assert_eq!(
            error,
            CommandError::Address {
                plugin: "dsls-status".into(),
                source: AddressError::HostCharacter {
                    host: "x 4085; stopServer -force; connect y".into(),
                    character: ' '
                }
            }
        );
        for host in ["x;stopServer", "x\nstopServer", "x\"y", "a,b"] {
            assert!(
                matches!(
                    expand("dsls-status", &dsls, host, Some(4085)),
                    Err(CommandError::Address { .. })
                ),
                "{host:?}"
            );
        }
    }

    #[test]
    fn no_template_no_command() {
        assert_eq!(
            expand("flexlm-log", &[], "lic1", None),
            Err(CommandError::NoCommand {
                plugin: "flexlm-log".into()
            })
        );
    }
}
