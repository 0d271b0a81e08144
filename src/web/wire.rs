//! The API's records as TypeScript: `frontend/src/lib/wire.ts` is generated from the Rust
//! types the API serialises, so the WebUI's types cannot drift from the server's. A unit
//! test compares the file with a fresh generation and fails on any difference;
//! `CAFLEET_WRITE_WIRE=1 cargo test --lib wire` rewrites it (docs/ARCHITECTURE.md, "The
//! wire").

#[cfg(test)]
mod tests {
    use crate::activity::Activity;
    use crate::broker::activity::ActivityView;
    use crate::broker::delivery::Undelivered;
    use crate::broker::monitor::{MAX_INTERVAL_SECS, RuntimeView};
    use crate::broker::webui::{AgentCard, MessageView, MonitorCard, WebSent};
    use crate::delivery::{DeliverMode, DeliveryState};
    use crate::model::{
        AgentId, AgentKind, AgentRole, AgentStatus, FleetId, FleetSummary, MessageStatus, TaskId,
    };
    use crate::web::api::{MAX_PAGE, PAGE};
    use ts_rs::{Config, TS};

    const WIRE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/frontend/src/lib/wire.ts");

    fn generate() -> String {
        // Ids and counts stay far below 2^53: numbers, not bigints.
        let cfg = Config::new().with_large_int("number");
        let decls = [
            FleetId::decl(&cfg),
            AgentId::decl(&cfg),
            TaskId::decl(&cfg),
            FleetSummary::decl(&cfg),
            AgentStatus::decl(&cfg),
            AgentKind::decl(&cfg),
            AgentRole::decl(&cfg),
            Activity::decl(&cfg),
            ActivityView::decl(&cfg),
            Undelivered::decl(&cfg),
            MonitorCard::decl(&cfg),
            AgentCard::decl(&cfg),
            MessageStatus::decl(&cfg),
            DeliveryState::decl(&cfg),
            DeliverMode::decl(&cfg),
            MessageView::decl(&cfg),
            RuntimeView::decl(&cfg),
            WebSent::decl(&cfg),
        ];
        let mut out = String::from(
            "// Generated from the Rust types the API serialises (src/web/wire.rs); do not edit.\n\
             // Regenerate with: CAFLEET_WRITE_WIRE=1 cargo test --lib wire\n\n",
        );
        for decl in decls {
            out.push_str("export ");
            for line in decl.lines() {
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "/** Messages per timeline, inbox or sent page. */\nexport const PAGE = {PAGE};\n\n\
             /** The largest page a client may ask for. */\nexport const MAX_PAGE = {MAX_PAGE};\n\n\
             /** The longest monitor interval, in seconds (30 days). */\nexport const MAX_INTERVAL_SECS = {MAX_INTERVAL_SECS};\n"
        ));
        out
    }

    #[test]
    fn wire_types_match_the_frontend() {
        let fresh = generate();
        if std::env::var_os("CAFLEET_WRITE_WIRE").is_some() {
            std::fs::write(WIRE, &fresh).expect("write wire.ts");
        }
        let current = std::fs::read_to_string(WIRE).unwrap_or_default();
        assert!(
            current == fresh,
            "frontend/src/lib/wire.ts is out of date with the API's Rust types; regenerate it with `CAFLEET_WRITE_WIRE=1 cargo test --lib wire` and check the frontend still type-checks"
        );
    }
}
