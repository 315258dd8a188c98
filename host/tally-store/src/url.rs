//! A database URL, which may carry a password (`postgres://tally:SECRET@db/tally`): printed,
//! logged or debugged it shows `***` in the password's place. Only the store reads the secret,
//! to connect.

use std::fmt;
use std::str::FromStr;

/// A database URL whose [`Display`](fmt::Display) and [`Debug`] hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL with its password: for connecting, never for messages.
    pub(crate) fn secret(&self) -> &str {
        &self.0
    }

    /// The scheme, lower case (`postgres`), or empty.
    pub fn scheme(&self) -> String {
        self.0
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The password, when the URL has one (user info `user:password@`, or a `password=`
    /// query parameter).
    fn password(&self) -> Option<&str> {
        let url = &self.0;
        let rest = &url[url.find("://")? + 3..];
        // The user info ends at the last `@` before the path.
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@')
            && let Some((_, password)) = authority[..at].split_once(':')
            && !password.is_empty()
        {
            return Some(password);
        }
        let query = &url[url.find('?')? + 1..];
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("password="))
            .filter(|p| !p.is_empty())
    }

    /// `text` (a driver's error message, say) with this URL's password replaced by `***`,
    /// in case the driver echoed it.
    pub fn scrub(&self, text: &str) -> String {
        match self.password() {
            Some(password) => text.replace(password, "***"),
            None => text.to_string(),
        }
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scrub(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

impl FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<DatabaseUrl, Self::Err> {
        Ok(DatabaseUrl::new(url))
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> DatabaseUrl {
        DatabaseUrl::new(url)
    }
}

impl From<&String> for DatabaseUrl {
    fn from(url: &String) -> DatabaseUrl {
        DatabaseUrl::new(url.as_str())
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> DatabaseUrl {
        DatabaseUrl(url)
    }
}

impl From<&DatabaseUrl> for DatabaseUrl {
    fn from(url: &DatabaseUrl) -> DatabaseUrl {
        url.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn display_and_debug_hide_the_password() {
        let url = DatabaseUrl::new("postgres://tally:s3cr3t@db.example:5432/tally");
        assert_eq!(
            url.to_string(),
            "postgres://tally:***@db.example:5432/tally"
        );
        assert_eq!(
            format!("{url:?}"),
            "DatabaseUrl(postgres://tally:***@db.example:5432/tally)"
        );
        assert_eq!(
            url.secret(),
            "postgres://tally:s3cr3t@db.example:5432/tally"
        );
        // An `@` inside the password, and the password as a query parameter.
        let url = DatabaseUrl::new("mysql://tally:p@ss@db/tally?ssl-mode=required");
        assert_eq!(
            url.to_string(),
            "mysql://tally:***@db/tally?ssl-mode=required"
        );
        let url = DatabaseUrl::new("postgres://db/tally?user=tally&password=hunter2");
        assert_eq!(
            url.to_string(),
            "postgres://db/tally?user=tally&password=***"
        );
        assert_eq!(
            url.scrub("error: password hunter2 was refused"),
            "error: password *** was refused"
        );
    }

    #[test]
    fn urls_without_a_password_are_shown_whole() {
        for plain in [
            "sqlite:///var/lib/tally/tally.db",
            "sqlite://a@b.db",
            "postgres://tally@db/tally",
            "postgres://db/tally",
            "nothing",
        ] {
            assert_eq!(DatabaseUrl::new(plain).to_string(), plain);
        }
        assert_eq!(DatabaseUrl::new("POSTGRES://x").scheme(), "postgres");
    }
}
