//! `display ip routing-table [protocol static | A.B.C.D]` in Comware 7's layout, from the table
//! route/table.rs computes for the current configuration and the ports' settled status.

use std::net::Ipv4Addr;

use super::table::{self, Proto, Route, Table};
use crate::cli::Args;
use crate::cli::handler::CmdResult;
use crate::cli::table::{Column, Table as Layout};
use crate::device::Ctx;
use crate::interface::address::network_of;

/// `Destination/Mask   Proto   Pre Cost        NextHop         Interface`
const COLUMNS: &[Column] = &[
    Column::left(19),
    Column::left(8),
    Column::left(4),
    Column::left(12),
    Column::left(16),
    Column::rest(),
];

/// `Destinations : 18        Routes : 18`
const COUNTS: &[Column] = &[Column::left(25), Column::rest()];

const HEADER: [&str; 6] = [
    "Destination/Mask",
    "Proto",
    "Pre",
    "Cost",
    "NextHop",
    "Interface",
];

/// The header row and one row per route.
fn rows(routes: &[&Route]) -> Vec<String> {
    let mut layout = Layout::new(COLUMNS);
    layout.row(HEADER);
    for r in routes {
        layout.row([
            format!("{}/{}", r.dest, r.len),
            r.proto.text().to_string(),
            r.preference.to_string(),
            "0".to_string(),
            r.next_hop.to_string(),
            r.via.text(),
        ]);
    }
    layout.lines()
}

/// `display ip routing-table`: the active routes.
pub fn routing_table(t: &Table) -> Vec<String> {
    let destinations = {
        let mut d: Vec<_> = t.active.iter().map(|r| (r.dest, r.len)).collect();
        d.dedup();
        d.len()
    };
    let mut out = vec![
        String::new(),
        crate::cli::table::line(
            COUNTS,
            [
                format!("Destinations : {destinations}"),
                format!("Routes : {}", t.active.len()),
            ],
        ),
        String::new(),
    ];
    out.extend(rows(&t.active.iter().collect::<Vec<_>>()));
    out
}

/// `display ip routing-table A.B.C.D`: the active routes of the longest prefix that holds the
/// address, i.e. the way a packet to it goes.
pub fn routes_to(t: &Table, addr: Ipv4Addr) -> Vec<String> {
    let holds = |r: &&Route| network_of(addr, r.len) == r.dest;
    let longest = t.active.iter().filter(holds).map(|r| r.len).max();
    let routes: Vec<&Route> = t
        .active
        .iter()
        .filter(holds)
        .filter(|r| Some(r.len) == longest)
        .collect();
    let mut out = vec![String::new(), format!("Summary count : {}", routes.len())];
    if !routes.is_empty() {
        out.push(String::new());
        out.extend(rows(&routes));
    }
    out
}

/// `display ip routing-table protocol static`: the static routes, active then inactive.
pub fn static_routes(t: &Table) -> Vec<String> {
    let active: Vec<&Route> = t
        .active
        .iter()
        .filter(|r| r.proto == Proto::Static)
        .collect();
    let inactive: Vec<&Route> = t
        .inactive
        .iter()
        .filter(|r| r.proto == Proto::Static)
        .collect();
    let mut out = vec![
        String::new(),
        format!("Summary count : {}", active.len() + inactive.len()),
    ];
    for (state, routes) in [("Active", &active), ("Inactive", &inactive)] {
        out.push(String::new());
        out.push(format!("Static Routing table status : <{state}>"));
        out.push(format!("Summary count : {}", routes.len()));
        if !routes.is_empty() {
            out.push(String::new());
            out.extend(rows(routes));
        }
    }
    out
}

/// The handler: the table for the configuration the ports have applied.
pub fn display(ctx: &mut Ctx<'_>, args: &Args) -> CmdResult {
    let status = ctx.device.settled_interfaces();
    let cfg = ctx.device.config.snapshot();
    let t = table::compute(&cfg, &status);
    let lines = if args.has("static") {
        static_routes(&t)
    } else if let Some(addr) = args.ipv4("addr") {
        routes_to(&t, addr)
    } else {
        routing_table(&t)
    };
    for l in lines {
        ctx.line(l);
    }
    Ok(())
}
