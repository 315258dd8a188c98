//! Where a license server listens: the host name or address and port an operator gives (CLI,
//! API, configuration) and a poller's status command is run against. Both end up as arguments
//! of a license-manager tool, some of which parse their arguments as options or commands
//! (`monitorlm`, `lsmon`, `DSLicSrv -admin -run "connect HOST PORT; …"`), so every caller checks
//! them here: [`check_host`], [`check_port`], or both at once with [`check_address`].

use std::fmt;

/// Longest host accepted: a DNS name is at most 253 characters.
pub const MAX_HOST_LEN: usize = 253;

/// Why a host or port was refused. Display names the value (quoted, shortened) and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    EmptyHost,
    /// Longer than [`MAX_HOST_LEN`] bytes.
    HostTooLong {
        len: usize,
    },
    /// Starts with `-`: a tool would read it as an option.
    HostIsOption {
        host: String,
    },
    /// A character that is neither a letter, digit nor one of `-._:[]` (a space, `;`, `,`, a
    /// quote, a newline, `@`, `/`, …): it could end the argument or start another command.
    HostCharacter {
        host: String,
        character: char,
    },
    /// Outside 1–65535.
    Port {
        port: i64,
    },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::EmptyHost => write!(f, "the host is empty"),
            AddressError::HostTooLong { len } => write!(
                f,
                "the host is {len} bytes long; a host name is at most {MAX_HOST_LEN}"
            ),
            AddressError::HostIsOption { host } => write!(
                f,
                "host {} starts with `-`: a host name or address never does",
                shown(host)
            ),
            AddressError::HostCharacter { host, character } => write!(
                f,
                "host {} contains {}: a host is a name or an address (letters, digits and `-._:[]`)",
                shown(host),
                backquoted(&character.escape_debug().collect::<String>())
            ),
            AddressError::Port { port } => {
                write!(f, "port {port} is not a TCP port (1-65535)")
            }
        }
    }
}

impl std::error::Error for AddressError {}

/// Checks a license server's host: a DNS name, an IPv4 address or an IPv6 address (bare or in
/// brackets), at most [`MAX_HOST_LEN`] bytes, not starting with `-`.
pub fn check_host(host: &str) -> Result<(), AddressError> {
    if host.is_empty() {
        return Err(AddressError::EmptyHost);
    }
    if host.len() > MAX_HOST_LEN {
        return Err(AddressError::HostTooLong { len: host.len() });
    }
    if host.starts_with('-') {
        return Err(AddressError::HostIsOption { host: host.into() });
    }
    if let Some(character) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':' | '[' | ']')))
    {
        return Err(AddressError::HostCharacter {
            host: host.into(),
            character,
        });
    }
    Ok(())
}

/// Checks a port given as any integer (a CLI or JSON number) and returns it as one.
pub fn check_port(port: i64) -> Result<u16, AddressError> {
    u16::try_from(port)
        .ok()
        .filter(|&p| p != 0)
        .ok_or(AddressError::Port { port })
}

/// Checks a host and its optional port (see [`check_host`], [`check_port`]).
pub fn check_address(host: &str, port: Option<i64>) -> Result<Option<u16>, AddressError> {
    check_host(host)?;
    port.map(check_port).transpose()
}

/// A value in backquotes, at most 80 characters, control characters escaped: safe to print.
fn shown(value: &str) -> String {
    let mut text: String = value
        .chars()
        .take(80)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 80 {
        text.push('…');
    }
    backquoted(&text)
}

fn backquoted(text: &str) -> String {
    format!("`{text}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_addresses_pass() {
        for host in [
            "lic1",
            "lic-1.example.com",
            "LIC_2",
            "10.0.0.7",
            "::1",
            "[2001:db8::1]",
            "fe80::1",
            &"a".repeat(MAX_HOST_LEN),
        ] {
            assert_eq!(check_host(host), Ok(()), "{host}");
        }
    }

    #[test]
    fn options_separators_and_commands_are_refused() {
        assert_eq!(
            check_host("-file=/etc/shadow").map_err(|e| e.to_string()),
            Err(
                "host `-file=/etc/shadow` starts with `-`: a host name or address never does"
                    .into()
            )
        );
        assert_eq!(
            check_host("x 4085; stopServer -force; connect y").map_err(|e| e.to_string()),
            Err("host `x 4085; stopServer -force; connect y` contains ` `: a host is a name or an address (letters, digits and `-._:[]`)".into())
        );
        assert_eq!(
            check_host("x\nstopServer"),
            Err(AddressError::HostCharacter {
                host: "x\nstopServer".into(),
                character: '\n'
            })
        );
        assert_eq!(
            check_host("x\nstopServer").map_err(|e| e.to_string()),
            Err("host `x\\nstopServer` contains `\\n`: a host is a name or an address (letters, digits and `-._:[]`)".into())
        );
        for (host, bad) in [
            ("a;b", ';'),
            ("a,b", ','),
            ("a\"b", '"'),
            ("a'b", '\''),
            ("27000@lic1", '@'),
            ("a/b", '/'),
            ("a\tb", '\t'),
            ("a$(id)", '$'),
            ("a|b", '|'),
            ("a&b", '&'),
            ("lïc", 'ï'),
        ] {
            assert_eq!(
                check_host(host),
                Err(AddressError::HostCharacter {
                    host: host.into(),
                    character: bad
                }),
                "{host}"
            );
        }
        assert_eq!(check_host(""), Err(AddressError::EmptyHost));
        assert_eq!(
            check_host(&"a".repeat(MAX_HOST_LEN + 1)),
            Err(AddressError::HostTooLong {
                len: MAX_HOST_LEN + 1
            })
        );
    }

    #[test]
    fn ports_are_1_to_65535() {
        assert_eq!(check_port(27000), Ok(27000));
        assert_eq!(check_port(1), Ok(1));
        assert_eq!(check_port(65535), Ok(65535));
        for port in [0, -1, 65536, i64::MIN, i64::MAX] {
            assert_eq!(check_port(port), Err(AddressError::Port { port }));
        }
        assert_eq!(
            check_port(70000).map_err(|e| e.to_string()),
            Err("port 70000 is not a TCP port (1-65535)".into())
        );
        assert_eq!(check_address("lic1", Some(27000)), Ok(Some(27000)));
        assert_eq!(check_address("lic1", None), Ok(None));
        assert_eq!(
            check_address("lic1", Some(0)),
            Err(AddressError::Port { port: 0 })
        );
    }
}
