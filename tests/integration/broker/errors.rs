//! `Error::exit_code`, the CLI's one mapping of error kinds to exit codes: a usage error
//! exits 2, an already reported failure its own code, everything else 1.

use cafleet::Error;
use cafleet::error::TmuxError;
use cafleet::model::FleetId;

#[test]
fn usage_errors_exit_2() {
    assert_eq!(Error::usage("bad").exit_code(), 2);
}

#[test]
fn reported_failures_exit_with_their_own_code() {
    for code in [0, 1, 3, 130] {
        assert_eq!(Error::Exit(code).exit_code(), code);
    }
}

#[test]
fn every_other_kind_exits_1() {
    let others = [
        Error::not_found("x"),
        Error::forbidden("x"),
        Error::invalid("x"),
        Error::conflict("x"),
        Error::failed("x"),
        Error::Busy(30),
        Error::Storage("x".into()),
        Error::Tmux(TmuxError::Refused("x".into())),
    ];
    for e in others {
        assert_eq!(e.exit_code(), 1, "{e:?}");
    }
}

#[tokio::test]
async fn a_refused_operation_exits_as_its_kind_says() {
    let store = super::two_fleets().await;
    let code = |r: cafleet::Result<_>| r.map(|_| ()).unwrap_err().exit_code();
    assert_eq!(
        code(store.agent_deregister(FleetId(1), super::DIRECTOR).await),
        2
    );
    assert_eq!(
        code(store.agent_deregister(FleetId(1), super::ADMIN).await),
        1
    );
}
