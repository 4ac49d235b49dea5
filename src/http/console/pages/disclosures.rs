//! `/console/agreements/{id}/disclosures`: disclosures under one agreement, counted by
//! recipient (by name), purpose and month, and withheld decisions by reason, as tables and a
//! bar chart of shared and withheld disclosures per month. The chart is SVG built on the
//! server with the `svg` crate and embedded inline: presentation attributes only (no
//! `style` attribute or element, which the console's CSP would block), a `<title>` and
//! `<desc>` as its text alternative, and the table beside it says the same in words.
use actix_web::{web, HttpResponse};
use askama::Template;
use svg::node::element::{Description, Line, Rectangle, Text, Title, SVG};

use super::{consult_or_ask, failure, Names};
use crate::app::AppState;
use crate::domain::ids::AgreementId;
use crate::error::AppError;
use crate::http::console::context::ConsoleUser;
use crate::http::console::page::{self, Chrome};
use crate::usecase::audit::{self, DisclosureCounts, MonthCount};
use crate::usecase::directory;

const SECTION: &str = "agreements";

/// One row of a count table.
#[derive(Debug, Clone)]
pub struct CountRow {
    pub label: String,
    pub count: u64,
}

/// One month as the table shows it.
#[derive(Debug, Clone)]
pub struct MonthRow {
    pub month: String,
    pub shared: u64,
    pub withheld: u64,
}

#[derive(Template)]
#[template(path = "console/pages/disclosures.html")]
pub struct DisclosuresPage {
    pub chrome: Chrome,
    pub agreement_id: String,
    pub shared: u64,
    pub withheld: u64,
    pub by_recipient: Vec<CountRow>,
    pub by_purpose: Vec<CountRow>,
    pub by_month: Vec<MonthRow>,
    pub withheld_by_reason: Vec<CountRow>,
    /// The inline SVG chart (built by [`month_chart`], its text escaped by the crate).
    pub chart: String,
}

const WIDTH: u32 = 720;
const HEIGHT: u32 = 260;
const LEFT: u32 = 48;
const BOTTOM: u32 = 40;
const TOP: u32 = 16;
const SHARED_FILL: &str = "#1d4f7a";
const WITHHELD_FILL: &str = "#b10e1e";

/// A bar chart of shared and withheld disclosures per month, with `<title>` and `<desc>`
/// as its text alternative.
pub fn month_chart(months: &[(String, MonthCount)]) -> String {
    let summary: Vec<String> = months
        .iter()
        .map(|(m, c)| format!("{m}: {} shared, {} withheld", c.shared, c.withheld))
        .collect();
    let desc = if summary.is_empty() {
        "No disclosures are recorded under this agreement.".to_owned()
    } else {
        summary.join("; ")
    };
    let max = months
        .iter()
        .map(|(_, c)| c.shared.max(c.withheld))
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_h = f64::from(HEIGHT - BOTTOM - TOP);
    let plot_w = f64::from(WIDTH - LEFT - 8);
    let slot = plot_w / months.len().max(1) as f64;
    let bar = (slot / 2.0 - 4.0).clamp(2.0, 40.0);
    let base = f64::from(HEIGHT - BOTTOM);
    let mut doc = SVG::new()
        .set("viewBox", (0, 0, WIDTH, HEIGHT))
        .set("width", "100%")
        .set("role", "img")
        .set("aria-labelledby", "chart-title chart-desc")
        .add(Title::new("Disclosures per month, shared and withheld").set("id", "chart-title"))
        .add(
            Description::new()
                .set("id", "chart-desc")
                .add(svg::node::Text::new(desc)),
        )
        .add(
            Line::new()
                .set("x1", LEFT)
                .set("y1", base)
                .set("x2", WIDTH - 8)
                .set("y2", base)
                .set("stroke", "#0b0c0c"),
        )
        .add(
            Text::new(max.to_string())
                .set("x", LEFT - 6)
                .set("y", TOP + 4)
                .set("text-anchor", "end")
                .set("font-size", 12)
                .set("fill", "#0b0c0c"),
        )
        .add(
            Text::new("0")
                .set("x", LEFT - 6)
                .set("y", base)
                .set("text-anchor", "end")
                .set("font-size", 12)
                .set("fill", "#0b0c0c"),
        );
    for (i, (month, c)) in months.iter().enumerate() {
        let x = f64::from(LEFT) + slot * i as f64 + slot / 2.0;
        for (j, (n, fill, what)) in [
            (c.shared, SHARED_FILL, "shared"),
            (c.withheld, WITHHELD_FILL, "withheld"),
        ]
        .into_iter()
        .enumerate()
        {
            let h = plot_h * n as f64 / max as f64;
            let bx = if j == 0 { x - bar - 1.0 } else { x + 1.0 };
            doc = doc.add(
                Rectangle::new()
                    .set("x", bx)
                    .set("y", base - h)
                    .set("width", bar)
                    .set("height", h)
                    .set("fill", fill)
                    .add(Title::new(format!("{month}: {n} {what}"))),
            );
        }
        doc = doc.add(
            Text::new(month.clone())
                .set("x", x)
                .set("y", base + 16.0)
                .set("text-anchor", "middle")
                .set("font-size", 12)
                .set("fill", "#0b0c0c"),
        );
    }
    let legend_y = HEIGHT - 8;
    doc = doc
        .add(
            Rectangle::new()
                .set("x", LEFT)
                .set("y", legend_y - 10)
                .set("width", 10)
                .set("height", 10)
                .set("fill", SHARED_FILL),
        )
        .add(
            Text::new("shared")
                .set("x", LEFT + 14)
                .set("y", legend_y)
                .set("font-size", 12)
                .set("fill", "#0b0c0c"),
        )
        .add(
            Rectangle::new()
                .set("x", LEFT + 80)
                .set("y", legend_y - 10)
                .set("width", 10)
                .set("height", 10)
                .set("fill", WITHHELD_FILL),
        )
        .add(
            Text::new("withheld")
                .set("x", LEFT + 94)
                .set("y", legend_y)
                .set("font-size", 12)
                .set("fill", "#0b0c0c"),
        );
    doc.to_string()
}

impl DisclosuresPage {
    pub fn new(
        chrome: Chrome,
        agreement_id: String,
        c: &DisclosureCounts,
        names: &Names,
    ) -> DisclosuresPage {
        let months: Vec<(String, MonthCount)> =
            c.by_month.iter().map(|(m, n)| (m.clone(), *n)).collect();
        DisclosuresPage {
            chrome,
            agreement_id,
            shared: c.shared,
            withheld: c.withheld,
            by_recipient: c
                .by_recipient
                .iter()
                .map(|(a, n)| CountRow {
                    label: names.of(a),
                    count: *n,
                })
                .collect(),
            by_purpose: c
                .by_purpose
                .iter()
                .map(|(p, n)| CountRow {
                    label: p.replace('_', " "),
                    count: *n,
                })
                .collect(),
            by_month: months
                .iter()
                .map(|(m, n)| MonthRow {
                    month: m.clone(),
                    shared: n.shared,
                    withheld: n.withheld,
                })
                .collect(),
            withheld_by_reason: c
                .withheld_by_reason
                .iter()
                .map(|(r, n)| CountRow {
                    label: r.clone(),
                    count: *n,
                })
                .collect(),
            chart: month_chart(&months),
        }
    }
}

/// `GET /console/agreements/{id}/disclosures`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let title = "Disclosures under an agreement";
    let chrome = Chrome::new(&user, title, SECTION);
    let here = format!("/console/agreements/{}/disclosures", super::encode(&id));
    let consult = match consult_or_ask(&user, title, SECTION, here) {
        Ok(c) => c,
        Err(form) => return Ok(*form),
    };
    let Ok(agreement) = id.parse::<AgreementId>() else {
        return failure(chrome, &AppError::NotFound);
    };
    let names = match directory::names(&state.hub).await {
        Ok(n) => Names(n),
        Err(e) => return failure(chrome, &e),
    };
    match audit::agreement_disclosures(&state.hub, user.principal.clone(), consult, agreement).await
    {
        Ok((view, counts)) => {
            let mut chrome = chrome;
            if let Some(v) = view.agreement.latest() {
                chrome.title = format!("Disclosures under {}", v.terms.title);
            }
            page::html(&DisclosuresPage::new(
                chrome,
                agreement.to_string(),
                &counts,
                &names,
            ))
        }
        Err(e) => failure(chrome, &e),
    }
}
