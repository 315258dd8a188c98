//! What RLM's numbers mean: check-in reasons (`IN why …`) and the license status codes of
//! denials (`RLM_EL_…`, as listed in RLM's `license.h` and the manual's "RLM Status Values").

use tally_plugin_sdk::{DenialKind, EndReason};

/// The end of a session from the `why` of its `IN` record.
pub fn end_reason(why: i32) -> EndReason {
    match why {
        // 1 normal check-in, 2 application exited, 5 hold/minimum checkout period over,
        // 6 client dequeued, 12/13 temporary license expired/returned (RLM Cloud).
        1 | 2 | 5 | 6 | 12 | 13 => EndReason::Checkin,
        // 4 removed by the server after a timeout, 11 no heartbeat within the promise interval.
        4 | 11 => EndReason::Inactive,
        // 3 rlmremove, 7 portable hostid removed, 8 failed host back up, 9 transferred
        // licenses lost, 10 meter ran out, and anything newer.
        _ => EndReason::Unknown,
    }
}

/// Requests for something the server does not serve count as "unsupported", like FlexNet's
/// UNSUPPORTED lines; everything else was refused.
pub fn denial_kind(status: i32) -> DenialKind {
    match status {
        // No authorization for product, requested version not supported, the server does
        // not support this.
        -1 | -6 | -18 => DenialKind::Unsupported,
        _ => DenialKind::Denied,
    }
}

/// Short meaning of an `RLM_EL_…` license status.
pub fn status_text(status: i32) -> Option<&'static str> {
    Some(match status {
        -1 => "No authorization for product",
        -2 => "Authorization is for another ISV",
        -3 => "Authorization has expired",
        -4 => "Wrong host for authorization",
        -5 => "Bad key in authorization",
        -6 => "Requested version not supported",
        -7 => "Bad date format in license",
        -8 => "Checkout request for too many licenses",
        -9 => "No license authorization supplied",
        -10 => "On the EXCLUDEALL list",
        -11 => "On the product's EXCLUDE list",
        -12 => "Not on the INCLUDEALL list",
        -13 => "Not on the product's INCLUDE list",
        -14 => "Request would exceed the license MAX",
        -15 => "License removed by the server",
        -16 => "Unexpected response from the server",
        -17 => "Error communicating with the server",
        -18 => "License server does not support this",
        -19 => "No license handle",
        -20 => "Server closed the connection",
        -21 => "No heartbeat response received",
        -22 => "All licenses in use",
        -23 => "No hostid on uncounted license",
        -24 => "License timed out by the server",
        -25 => "In queue for the license",
        -26 => "License syntax error",
        -27 => "Roam time exceeds the maximum",
        -28 => "Server does not know this handle",
        -29 => "On the roam EXCLUDE list",
        -30 => "Not on the roam INCLUDE list",
        -31 => "Too many licenses roaming",
        -32 => "License expires before the roam ends",
        -33 => "Problem with the roam file",
        -34 => "Cannot check out an rlm_roam license",
        -35 => "Wrong platform for client",
        -36 => "Wrong timezone for client",
        -37 => "License start date not reached",
        -38 => "Cannot get the date",
        -39 => "Over the license soft limit",
        -40 => "Clock setback detected",
        -41 => "Bad parameter to the checkout call",
        -42 => "Roaming not permitted on failover servers",
        -43 => "Bad hostname in license or port@host",
        -44 => "Application is inactive",
        -45 => "Not a named user",
        -46 => "Terminal server disabled",
        -47 => "Virtual machines disabled",
        -48 => "Portable hostid removed",
        -49 => "Demo license has expired",
        -50 => "Failed host back up",
        -51 => "Server lost its transferred license",
        -52 => "Incorrect password for product",
        -53 => "Metered licenses require a server",
        -54 => "Not enough count for metered license",
        -55 => "Roaming not permitted on servers with transient hostids",
        -56 => "Cannot reconnect to server",
        -57 => "None of these licenses can roam",
        -58 => "Server too old for this operation",
        -59 => "Server rejected the client",
        -60 => "Requested option not present",
        -61 => "Cannot find the dynamic reservation",
        -62 => "Reconnection information invalid",
        -63 => "Licenses are already roaming",
        -64 => "Bad format for RLM_ROAM_EXTEND",
        -65 => "Bad extend code for roam extend",
        -66 => "No roaming license to extend",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings() {
        assert_eq!(status_text(-22), Some("All licenses in use"));
        assert_eq!(status_text(0), None);
        assert_eq!(status_text(-999), None);
        assert_eq!(denial_kind(-22), DenialKind::Denied);
        assert_eq!(denial_kind(-6), DenialKind::Unsupported);
        assert_eq!(end_reason(1), EndReason::Checkin);
        assert_eq!(end_reason(2), EndReason::Checkin);
        assert_eq!(end_reason(4), EndReason::Inactive);
        assert_eq!(end_reason(3), EndReason::Unknown);
        assert_eq!(end_reason(99), EndReason::Unknown);
    }
}
