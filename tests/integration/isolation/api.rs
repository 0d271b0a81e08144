//! The HTTP API sweep: ids of the other fleet in the path, the body and the fleet header are
//! refused exactly, nothing changes, and reads (the live event stream too) never show the
//! other fleet's rows.

use super::*;

/// The sweep over every HTTP route: ids of the other fleet in the path, the body and the
/// fleet header are refused exactly, nothing changes, and reads (including the live event
/// stream) never show the other fleet's rows.
#[test]
fn api_refuses_every_id_of_another_fleet_and_changes_nothing() {
    let started = Instant::now();
    let w = World::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(api_sweep(&w, started));
}

async fn api_sweep(w: &World, started: Instant) {
    let db = Db::connect(&w.env.database(), 4).await.unwrap();
    let broker = Broker::new(db, Tmux::from_env(), 200);
    let mut api = Api {
        state: AppState::new(broker, Security::for_bind("127.0.0.1", 8000, None)),
        database: w.env.database(),
        covered: BTreeSet::new(),
    };
    let (a, b) = (&w.a, &w.b);
    let (fa, fb) = (Some(a.fleet), Some(b.fleet));
    let baseline = {
        let (panes, bytes) = w.outside_state();
        Snapshot {
            db: dump_db(&w.env.database()).await,
            panes,
            bytes,
        }
    };
    let mut calls = 0;
    const MON: &str = "/agents/{agent_id}/monitor";

    // Per-agent routes: B's agents through A's header, A's through B's, and unknown ids all
    // get the same 404.
    for (target, fleet) in [
        (b.m1, fa),
        (b.director, fa),
        (b.mon, fa),
        (b.r1, fa),
        (a.m1, fb),
        (GHOST_AGENT, fa),
    ] {
        let uri = format!("/api/agents/{target}/monitor");
        api.refused(
            w,
            &baseline,
            ("GET", MON),
            &uri,
            fleet,
            None,
            StatusCode::NOT_FOUND,
            "Agent not enrolled",
        )
        .await;
        for body in [
            json!({"enabled": false}),
            json!({"interval_seconds": 7}),
            json!({"interval_seconds": 7, "enabled": true}),
        ] {
            api.refused(
                w,
                &baseline,
                ("PATCH", MON),
                &uri,
                fleet,
                Some(body),
                StatusCode::NOT_FOUND,
                "Agent not enrolled",
            )
            .await;
        }
        calls += 4;
    }
    for (target, fleet) in [
        (b.r1, fa),
        (b.m1, fa),
        (b.admin, fa),
        (b.gone, fa),
        (a.r1, fb),
        (w.c_director, fa),
        (GHOST_AGENT, fa),
    ] {
        for sub in ["inbox", "sent"] {
            let route = format!("/agents/{{agent_id}}/{sub}");
            api.refused(
                w,
                &baseline,
                ("GET", &route),
                &format!("/api/agents/{target}/{sub}"),
                fleet,
                None,
                StatusCode::NOT_FOUND,
                "Agent not found",
            )
            .await;
            calls += 1;
        }
    }

    // Sending: a recipient of B through A, a sender of B through A, A's Administrator through
    // B's header, broadcasts alike, and the deleted fleet's Administrator.
    const SEND: (&str, &str) = ("POST", "/messages/send");
    for to in [b.r1, b.m1, b.director, b.admin, w.c_director, GHOST_AGENT] {
        api.refused(
            w,
            &baseline,
            SEND,
            "/api/messages/send",
            fa,
            Some(json!({"from_agent_id": a.admin, "to_agent_id": to, "text": "probe"})),
            StatusCode::NOT_FOUND,
            "Agent not found",
        )
        .await;
        calls += 1;
    }
    for (from, to, fleet) in [
        (json!(b.admin), json!(a.r1), fa),
        (json!(b.admin), json!("*"), fa),
        (json!(b.admin), json!(b.r1), fa),
        (json!(a.admin), json!(b.r1), fb),
        (json!(a.admin), json!("*"), fb),
        (json!(GHOST_AGENT), json!("*"), fa),
    ] {
        api.refused(
            w,
            &baseline,
            SEND,
            "/api/messages/send",
            fleet,
            Some(json!({"from_agent_id": from, "to_agent_id": to, "text": "probe"})),
            StatusCode::BAD_REQUEST,
            "from_agent not in fleet",
        )
        .await;
        calls += 1;
    }

    // The deleted fleet is gone for the API too, whoever sends (docs/decisions.md, WEB-1).
    for from in [w.c_admin, a.admin] {
        api.refused(
            w,
            &baseline,
            SEND,
            "/api/messages/send",
            Some(w.c),
            Some(json!({"from_agent_id": from, "to_agent_id": "*", "text": "probe"})),
            StatusCode::NOT_FOUND,
            "Fleet not found",
        )
        .await;
        calls += 1;
    }

    // Fleet-scoped reads of a fleet that does not exist or was deleted.
    for fleet in [GHOST_FLEET, w.c] {
        for (route, uri) in [
            ("/agents", "/api/agents"),
            ("/monitor", "/api/monitor"),
            ("/timeline", "/api/timeline"),
            ("/events", "/api/events"),
            (MON, "/api/agents/1/monitor"),
            ("/agents/{agent_id}/inbox", "/api/agents/1/inbox"),
        ] {
            api.refused(
                w,
                &baseline,
                ("GET", route),
                uri,
                Some(fleet),
                None,
                StatusCode::NOT_FOUND,
                "Fleet not found",
            )
            .await;
            calls += 1;
        }
    }
    api.refused(
        w,
        &baseline,
        ("GET", "/events"),
        &format!("/api/events?fleet_id={GHOST_FLEET}"),
        None,
        None,
        StatusCode::NOT_FOUND,
        "Fleet not found",
    )
    .await;
    calls += 1;

    // Reads of A never contain B's rows.
    let a_agents = a.agents();
    let b_agents = b.agents();
    let v = api.read(("GET", "/agents"), "/api/agents", fa).await;
    let listed: BTreeSet<i64> = v["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| as_i64(&x["agent_id"]))
        .collect();
    // Deregistered agents are listed only when they have messages (as in 0.14).
    let mut a_listed = a_agents.clone();
    a_listed.remove(&a.gone);
    assert_eq!(listed, a_listed);
    let b_tasks = query_ids(
        &w.env.database(),
        &format!(
            "SELECT task_id FROM tasks WHERE from_agent_id IN (SELECT agent_id FROM agents WHERE fleet_id = {})",
            b.fleet
        ),
    )
    .await;
    let max_task = *b_tasks.iter().max().unwrap();
    for uri in [
        "/api/timeline".to_string(),
        format!("/api/timeline?before={}", max_task + 1),
        format!("/api/timeline?before={}", b.pending),
    ] {
        let v = api.read(("GET", "/timeline"), &uri, fa).await;
        let msgs = v["messages"].as_array().unwrap();
        assert!(!msgs.is_empty() || uri.contains("before"), "{uri}: {v}");
        for m in msgs {
            assert!(
                !b_tasks.contains(&as_i64(&m["task_id"])),
                "{uri} shows B's {m}"
            );
            assert!(
                a_agents.contains(&as_i64(&m["from_agent_id"])),
                "{uri} shows {m}"
            );
        }
    }
    for agent in [a.r1, a.r2, a.m1, a.director, a.admin] {
        for sub in ["inbox", "sent"] {
            let route = format!("/agents/{{agent_id}}/{sub}");
            let v = api
                .read(("GET", &route), &format!("/api/agents/{agent}/{sub}"), fa)
                .await;
            for m in v["messages"].as_array().unwrap() {
                assert!(!b_tasks.contains(&as_i64(&m["task_id"])), "{m}");
            }
        }
    }
    let v = api
        .read(("GET", MON), &format!("/api/agents/{}/monitor", a.m1), fa)
        .await;
    assert_eq!(v["interval_seconds"], 720, "{v}");
    api.read(("GET", "/monitor"), "/api/monitor", fa).await;
    let v = api.read(("GET", "/fleets"), "/api/fleets", None).await;
    let fleets: BTreeSet<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| as_i64(&f["fleet_id"]))
        .collect();
    assert_eq!(fleets, [a.fleet, b.fleet].into());
    calls += 18;
    api.unchanged(w, &baseline, "the API reads of fleet A")
        .await;

    // The live stream of A: its replay from the start and its live changes hold only A's
    // messages and agents, while B changes too.
    api.covered
        .insert(("GET".to_string(), "/events".to_string()));
    let req = Request::get(format!("/api/events?fleet_id={}", a.fleet))
        .header("host", HOST)
        .header("last-event-id", "0")
        .body(Body::empty())
        .unwrap();
    let resp = router(api.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let (mut buf, mut events) = (String::new(), Vec::new());
    let replayed = read_events(
        &mut body,
        &mut buf,
        &mut events,
        Duration::from_secs(10),
        |e| e.iter().any(|x| x.event == "messages") && e.iter().any(|x| x.event == "agents"),
    )
    .await;
    assert!(replayed, "no replay: {events:?}");
    assert_eq!(events[0].event, "hello");
    assert_eq!(events[0].data["fleet_id"], a.fleet);
    let b_msg = "b-live-change";
    let b_task: i64 = w
        .ok(
            Who::B,
            &[
                "message",
                "send",
                "--fleet-id",
                &b.fleet.to_string(),
                "--agent-id",
                &b.r2.to_string(),
                "--to",
                &b.r1.to_string(),
                "--text",
                b_msg,
                "--quiet",
            ],
        )
        .trim()
        .parse()
        .unwrap();
    let b_new = as_i64(
        &serde_json::from_str::<Value>(&w.ok(
            Who::B,
            &[
                "--json",
                "agent",
                "register",
                "--fleet-id",
                &b.fleet.to_string(),
                "--name",
                "b-late",
                "--description",
                "x",
            ],
        ))
        .unwrap()["agent_id"],
    );
    let a_task: i64 = w
        .ok(
            Who::A,
            &[
                "message",
                "send",
                "--fleet-id",
                &a.fleet.to_string(),
                "--agent-id",
                &a.r2.to_string(),
                "--to",
                &a.r1.to_string(),
                "--text",
                "a-live-change",
                "--quiet",
            ],
        )
        .trim()
        .parse()
        .unwrap();
    let live = read_events(
        &mut body,
        &mut buf,
        &mut events,
        Duration::from_secs(10),
        |e| event_ids(e).0.contains(&a_task),
    )
    .await;
    assert!(live, "A's live change never arrived: {events:?}");
    let (tasks, agents, parties) = event_ids(&events);
    assert!(!tasks.contains(&b_task), "A's stream carried B's message");
    assert!(
        tasks.is_disjoint(&b_tasks),
        "A's stream carried B's messages: {tasks:?}"
    );
    assert!(
        !agents.contains(&b_new) && agents.is_disjoint(&b_agents),
        "{agents:?}"
    );
    assert!(parties.is_disjoint(&b_agents), "{parties:?}");
    assert!(tasks.contains(&a.pending) && agents.contains(&a.r1));
    drop(body);
    calls += 1;

    // A broadcast from A's WebUI reaches A's panes only (its previews go to A's server).
    let before = w.outside_state();
    let (s, v) = api
        .call(Api::request(
            "POST",
            "/api/messages/send",
            fa,
            Some(&json!({"from_agent_id": a.admin, "to_agent_id": "*", "text": "web-broadcast"})),
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    calls += 1;
    // The previews are pushed by a task of this runtime: wait without blocking it.
    let keys = a
        .root
        .join("standin-logs")
        .join(format!("{}.keys", a.m1_pane));
    let end = Instant::now() + Duration::from_secs(10);
    while !std::fs::read(&keys)
        .unwrap_or_default()
        .windows(13)
        .any(|x| x == b"web-broadcast")
    {
        assert!(
            Instant::now() < end,
            "A's member never got the WebUI's broadcast"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = w.outside_state();
    assert_eq!(before.0, after.0, "panes changed");
    for (path, bytes) in &after.1 {
        if path.starts_with(&b.root) {
            assert_eq!(
                Some(bytes),
                before.1.get(path),
                "typed into B's {}",
                path.display()
            );
        }
    }
    let reached = query_ids(
        &w.env.database(),
        &format!(
            "SELECT DISTINCT a.fleet_id FROM tasks t JOIN agents a ON a.agent_id = t.to_agent_id WHERE t.origin_task_id = {}",
            as_i64(&v["task_id"])
        ),
    )
    .await;
    assert_eq!(
        reached,
        [a.fleet].into(),
        "the WebUI's broadcast reached another fleet"
    );

    let missing: Vec<_> = routes_in_source()
        .difference(&api.covered)
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "routes the isolation sweep does not cover: {missing:?}"
    );
    let extra: Vec<_> = api
        .covered
        .difference(&routes_in_source())
        .cloned()
        .collect();
    assert!(
        extra.is_empty(),
        "the sweep names routes the router lacks: {extra:?}"
    );
    eprintln!(
        "isolation API sweep: {calls} requests over {} routes, total {:.1}s",
        api.covered.len(),
        started.elapsed().as_secs_f64()
    );
}
