//! Integration tests: a real balancer, real target servers (hyper) and a real client (reqwest).

mod apply;
mod balancing;
mod draining;
mod load;
mod routing;
mod support;
