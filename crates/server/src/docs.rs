//! `/docs`: a browsable API reference rendered on the server from the
//! OpenAPI document: no scripts, no CDN, so it works offline.

use axum::response::Html;
use serde_json::Value;

pub async fn page() -> Html<String> {
    Html(render(&crate::openapi::document()))
}

fn render(doc: &Value) -> String {
    let mut out = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Rollcall API reference</title>\
         <style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}\
         code{background:#f4f4f4;padding:0 .2em}.op{border-left:4px solid #888;padding-left:.8em;margin:1em 0}\
         td{padding:.1em .6em;vertical-align:top}</style></head><body>",
    );
    out += &format!(
        "<h1>{}</h1><p>{}</p>",
        esc(&doc["info"]["title"]),
        esc(&doc["info"]["description"])
    );
    out += "<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>. Authenticate at <code>POST /oauth2/token</code> \
            (client credentials), then send <code>Authorization: Bearer &lt;token&gt;</code>.</p>";
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for (method, op) in item.as_object().into_iter().flatten() {
                out += &operation(path, method, op);
            }
        }
    }
    out + "</body></html>"
}

fn operation(path: &str, method: &str, op: &Value) -> String {
    let mut out = format!(
        "<div class=\"op\"><h3><code>{} {}</code> — {}</h3>",
        method.to_uppercase(),
        esc_str(path),
        esc(&op["operationId"])
    );
    if op["description"].is_string() {
        out += &format!("<p>{}</p>", esc(&op["description"]));
    }
    let params: Vec<String> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "<tr><td><code>{}</code> ({})</td><td>{}</td></tr>",
                esc(&p["name"]),
                esc(&p["in"]),
                esc(&p["description"])
            )
        })
        .collect();
    if !params.is_empty() {
        out += &format!("<table>{}</table>", params.join(""));
    }
    out + "</div>"
}

fn esc(v: &Value) -> String {
    esc_str(v.as_str().unwrap_or(""))
}

fn esc_str(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
