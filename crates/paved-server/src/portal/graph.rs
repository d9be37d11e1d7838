//! An entity's relations as an SVG drawn on the server: the entity in the middle, each
//! related entity on a circle around it, each edge labelled with its relation type. Works
//! without JavaScript; every node links to its entity page.

use std::fmt::Write as _;

/// One edge of the drawing: the relation type and the other entity's reference.
pub(crate) struct Edge {
    pub relation: String,
    pub target: String,
    /// The target's portal page.
    pub href: String,
}

const WIDTH: f64 = 760.0;
const NODE_WIDTH: f64 = 190.0;
const NODE_HEIGHT: f64 = 34.0;
/// Beyond this many edges the drawing would be unreadable; the page lists them all anyway.
pub(crate) const MAX_DRAWN: usize = 16;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A label that fits its box.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// The SVG markup (all text escaped) of `center` and its `edges`.
pub(crate) fn relation_graph(center: &str, edges: &[Edge]) -> String {
    let drawn = &edges[..edges.len().min(MAX_DRAWN)];
    let radius_y = if drawn.len() <= 2 { 90.0 } else { 150.0 };
    let height = 2.0 * radius_y + NODE_HEIGHT + 40.0;
    let (cx, cy) = (WIDTH / 2.0, height / 2.0);
    let radius_x = WIDTH / 2.0 - NODE_WIDTH / 2.0 - 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="graph" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="graph-title" xmlns="http://www.w3.org/2000/svg"><title id="graph-title">Relations of {}</title>"#,
        escape(center)
    );
    let positions: Vec<(f64, f64)> = (0..drawn.len())
        .map(|index| {
            // Start at the top and go round; offset so two nodes sit left and right.
            let angle = std::f64::consts::TAU * index as f64 / drawn.len() as f64
                - std::f64::consts::FRAC_PI_2
                + if drawn.len() == 2 {
                    std::f64::consts::FRAC_PI_2
                } else {
                    0.0
                };
            (cx + radius_x * angle.cos(), cy + radius_y * angle.sin())
        })
        .collect();
    for (edge, (x, y)) in drawn.iter().zip(&positions) {
        let _ = write!(
            svg,
            r#"<g class="edge"><line x1="{cx:.1}" y1="{cy:.1}" x2="{x:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"#,
            (cx + x) / 2.0,
            (cy + y) / 2.0 - 4.0,
            escape(&edge.relation)
        );
    }
    let node = |svg: &mut String, x: f64, y: f64, label: &str, class: &str| {
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="6"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x - NODE_WIDTH / 2.0,
            y - NODE_HEIGHT / 2.0,
            y + 5.0,
            escape(&shorten(label, 26))
        );
    };
    for (edge, (x, y)) in drawn.iter().zip(&positions) {
        let _ = write!(
            svg,
            r#"<a class="node" href="{}"><title>{} {}</title>"#,
            escape(&edge.href),
            escape(&edge.relation),
            escape(&edge.target)
        );
        node(&mut svg, *x, *y, &edge.target, "node-box");
        svg.push_str("</a>");
    }
    svg.push_str(r#"<g class="node center">"#);
    node(&mut svg, cx, cy, center, "node-box center-box");
    svg.push_str("</g></svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_edge_with_escaped_labels() {
        let edges = vec![
            Edge {
                relation: "ownedBy".to_owned(),
                target: "group:default/<team>".to_owned(),
                href: "/catalog/group/default/%3Cteam%3E".to_owned(),
            },
            Edge {
                relation: "partOf".to_owned(),
                target: "system:default/shop".to_owned(),
                href: "/catalog/system/default/shop".to_owned(),
            },
        ];
        let svg = relation_graph("component:default/a", &edges);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<a class=\"node\"").count(), 2);
        assert_eq!(svg.matches("<line").count(), 2);
        assert!(svg.contains("&lt;team&gt;"));
        assert!(!svg.contains("<team>"));
    }

    #[test]
    fn draws_at_most_the_bound() {
        let edges: Vec<Edge> = (0..40)
            .map(|index| Edge {
                relation: "hasPart".to_owned(),
                target: format!("component:default/c{index}"),
                href: format!("/catalog/component/default/c{index}"),
            })
            .collect();
        let svg = relation_graph("system:default/big", &edges);
        assert_eq!(svg.matches("<line").count(), MAX_DRAWN);
    }
}
