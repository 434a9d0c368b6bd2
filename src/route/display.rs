//! `display ip routing-table [protocol static]` in Comware 7's layout, from the table
//! route/table.rs computes for the current configuration and the ports' settled status.

use super::table::{self, Proto, Route, Table};
use crate::cli::Args;
use crate::cli::handler::CmdResult;
use crate::cli::table::{Column, Table as Layout};
use crate::device::Ctx;

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
    } else {
        routing_table(&t)
    };
    for l in lines {
        ctx.line(l);
    }
    Ok(())
}
