//! The overview's chart on `/cabinet`: requests received per Kyiv day over the last 30 days, as
//! an SVG bar chart drawn on the server (no script), with the same numbers in a table for
//! screen readers and for reading off; then the totals per service and the undelivered letters.

use maud::{html, Markup};

use super::texts::Texts;
use crate::app::cabinet::Overview;

const WIDTH: usize = 600;
const HEIGHT: usize = 160;
const AXIS: usize = 18;

pub fn section(t: &Texts, overview: &Overview) -> Markup {
    let days = &overview.received.per_day;
    let most = days.iter().map(|d| d.shares).max().unwrap_or(0).max(1);
    let slot = WIDTH as f64 / days.len().max(1) as f64;
    let plot = (HEIGHT - AXIS) as f64;
    let summary = format!("{}: {} {}", t.overview_received, t.overview_total.to_lowercase(), overview.received.total);
    let first = overview.range.first_day.format("%d.%m").to_string();
    let last = overview.range.last_day.format("%d.%m").to_string();
    html! {
        section aria-labelledby="overview-received" {
            h2 #overview-received { (t.overview_received) ": " (overview.received.total) }
            @if overview.received.total == 0 {
                p { (t.overview_none) }
            } @else {
                figure.chart {
                    svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(summary) {
                        line x1="0" y1=(HEIGHT - AXIS) x2=(WIDTH) y2=(HEIGHT - AXIS) stroke="#4a4f57" stroke-width="1" {}
                        @for (i, d) in days.iter().enumerate() {
                            @let h = plot * d.shares as f64 / most as f64;
                            rect x=(format!("{:.1}", i as f64 * slot + 1.0)) y=(format!("{:.1}", plot - h)) width=(format!("{:.1}", (slot - 2.0).max(1.0))) height=(format!("{h:.1}")) fill="#0057b7" {
                                title { (d.day.format("%d.%m.%Y")) ": " (d.shares) }
                            }
                        }
                        text x="0" y=(HEIGHT - 4) font-size="12" fill="#1f2328" { (first) }
                        text x=(WIDTH) y=(HEIGHT - 4) font-size="12" fill="#1f2328" text-anchor="end" { (last) }
                        text x="4" y="12" font-size="12" fill="#1f2328" { "max " (most) }
                    }
                    figcaption { (t.overview_per_day) }
                }
                details {
                    summary { (t.overview_per_day) }
                    table {
                        thead { tr { th scope="col" { (t.overview_day) } th scope="col" { (t.overview_total) } } }
                        tbody {
                            @for d in days.iter().filter(|d| d.shares > 0) {
                                tr { td { (d.day.format("%d.%m.%Y")) } td { (d.shares) } }
                            }
                        }
                    }
                }
            }
            @if !overview.services.is_empty() {
                h3 { (t.overview_per_service) }
                table.per-service {
                    thead { tr { th scope="col" { (t.search_service) } th scope="col" { (t.overview_total) } } }
                    tbody {
                        @for s in &overview.services {
                            tr {
                                td { (s.service.names.join(", ")) }
                                td {
                                    (s.received.total)
                                    @if overview.received.total > 0 {
                                        " "
                                        svg.bar width="100" height="10" aria-hidden="true" {
                                            rect width=(100 * s.received.total / overview.received.total.max(1)) height="10" fill="#0057b7" {}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if overview.delivery_failures.total > 0 {
                div.problem role="status" {
                    strong { (t.overview_failures) ": " (overview.delivery_failures.total) }
                    ul {
                        @for f in &overview.delivery_failures.listed {
                            li { a href={ "/cabinet/documents/" (f.share_request_id) } { (f.failed_at.format("%d.%m.%Y")) } @if let Some(r) = &f.reason { " — " (r) } }
                        }
                    }
                }
            }
        }
    }
}
