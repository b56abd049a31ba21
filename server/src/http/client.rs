//! Which client a request came from: the TCP peer, unless the peer is a trusted proxy, in
//! which case the hops it reports in the one forwarding header it is configured to write
//! (`X-Forwarded-For` or `Forwarded`) are walked from the nearest back to the first address
//! that is not itself a trusted proxy. The other header is ignored: a proxy that writes one
//! passes a client's own copy of the other through, and believing it would let the client
//! pick its address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnet::IpNet;
use poem::{
    Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response, Result,
    http::{HeaderMap, header},
};

use super::middleware::RequestId;
use crate::{config::ForwardedHeader, service::audit};

/// The proxies whose forwarding header is believed, and which header that is.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    proxies: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(proxies: Vec<IpNet>, header: ForwardedHeader) -> Self {
        Self { proxies, header }
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.proxies.iter().any(|proxy| proxy.contains(&address))
    }

    /// The client behind `peer`, as far as trusted proxies vouch for it.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for(headers),
            ForwardedHeader::Forwarded => forwarded_for(headers),
        };
        let mut client = peer;
        // Nearest hop last: each proxy appends the address it received the request from.
        for hop in hops.into_iter().rev() {
            // An unreadable or obfuscated hop ends what can be known.
            let Some(hop) = hop else { break };
            client = canonical(hop);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// IPv4 clients reached over an IPv6 socket are reported as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// An address as forwarding headers write it: bare, with a port, or bracketed IPv6.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim().trim_matches('"');
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            raw.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

/// The `for=` of each element of every `Forwarded` field (RFC 7239), in order.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all(header::FORWARDED)
        .iter()
        .flat_map(|field| field.to_str().unwrap_or("for=unknown").split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_hop(value))
        })
        .collect()
}

/// The addresses of every `X-Forwarded-For` field, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|field| field.to_str().unwrap_or("unknown").split(','))
        .map(parse_hop)
        .collect()
}

/// Puts the request's [`ClientAddress`] in its extensions.
pub async fn identify<E: Endpoint>(
    endpoint: E,
    mut request: Request,
    proxies: &TrustedProxies,
) -> Result<Response> {
    let peer = request
        .remote_addr()
        .as_socket_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), SocketAddr::ip);
    let client = proxies.client(peer, request.headers());
    request.extensions_mut().insert(ClientAddress(client));
    // What the request records in the audit log comes from here.
    let origin = audit::Origin {
        client: Some(client),
        request_id: (request.extensions().get::<RequestId>()).map(|id| id.0.clone()),
    };
    Ok(audit::within(origin, endpoint.call(request))
        .await?
        .into_response())
}

/// The address of the client a request came from: the TCP peer, or what a trusted proxy
/// in front of the server reports. The server puts it in every request's extensions; the
/// operations that limit per client read it from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The `User-Agent` a request was sent with, if any, cut to [`UserAgent::MAX_CHARS`]
/// characters: what a session list shows to tell sessions apart. Never trusted for
/// anything else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgent(pub Option<String>);

impl UserAgent {
    /// The most characters of a `User-Agent` that are kept.
    pub const MAX_CHARS: usize = 200;
}

impl<'a> FromRequest<'a> for UserAgent {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        let agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| {
                agent
                    .trim()
                    .chars()
                    .take(Self::MAX_CHARS)
                    .collect::<String>()
            })
            .filter(|agent| !agent.is_empty());
        Ok(Self(agent))
    }
}

#[cfg(test)]
mod tests {
    use poem::http::HeaderValue;

    use super::*;

    fn ip(raw: &str) -> IpAddr {
        raw.parse().expect("an address")
    }

    fn headers(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    fn proxies_writing(header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::new(
            vec![
                "10.0.0.0/8".parse().expect("a range"),
                "192.0.2.1/32".parse().expect("a range"),
            ],
            header,
        )
    }

    fn proxies() -> TrustedProxies {
        proxies_writing(ForwardedHeader::XForwardedFor)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let claims = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            proxies().client(ip("198.51.100.7"), &claims),
            ip("198.51.100.7")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &claims),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn trusted_hops_are_walked_back_to_the_first_untrusted_one() {
        let chain = headers(&[("x-forwarded-for", "203.0.113.9, 198.51.100.2, 10.1.1.1")]);
        assert_eq!(proxies().client(ip("10.0.0.1"), &chain), ip("198.51.100.2"));
        // A client cannot hide behind a forged left-most entry.
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxies().client(ip("192.0.2.1"), &split), ip("203.0.113.9"));
    }

    #[test]
    fn only_the_configured_header_is_read_and_its_forms_are_understood() {
        let both = headers(&[
            (
                "forwarded",
                r#"for=198.51.100.17;proto=https, for="[2001:db8::1]:4711""#,
            ),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        let forwarded = proxies_writing(ForwardedHeader::Forwarded);
        assert_eq!(forwarded.client(ip("10.0.0.1"), &both), ip("2001:db8::1"));
        // A proxy that writes X-Forwarded-For passes a client's forged Forwarded through.
        assert_eq!(proxies().client(ip("10.0.0.1"), &both), ip("203.0.113.9"));
        let with_port = headers(&[("forwarded", "for=\"203.0.113.5:8080\"")]);
        assert_eq!(
            forwarded.client(ip("10.0.0.1"), &with_port),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk() {
        let hidden = headers(&[("forwarded", "for=203.0.113.5, for=_hidden, for=10.2.2.2")]);
        let forwarded = proxies_writing(ForwardedHeader::Forwarded);
        assert_eq!(forwarded.client(ip("10.0.0.1"), &hidden), ip("10.2.2.2"));
    }
}
