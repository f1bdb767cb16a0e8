//! Identities: a unique UID 0, no duplicate user or group names and IDs,
//! no legacy NIS `+`/`-` entries, and a consistent account database.

use super::{GROUP, PASSWD};
use crate::rules::{Ctx, Hit, Outcome};
use std::collections::BTreeMap;

pub(super) fn uid0_unique(ctx: &Ctx) -> Outcome {
    Ok(ctx
        .passwd()?
        .iter()
        .filter(|p| !p.nis && p.uid == 0 && p.name != "root")
        .map(|p| {
            Hit::new("uid 0 shared with root")
                .subject(&p.name)
                .at(PASSWD, Some(p.line))
        })
        .collect())
}

fn dups<'a>(
    items: impl Iterator<Item = (String, &'a str, u64)>,
) -> Vec<(String, Vec<&'a str>, u64)> {
    let mut m: BTreeMap<String, (Vec<&str>, u64)> = BTreeMap::new();
    for (k, name, line) in items {
        let e = m.entry(k).or_insert((Vec::new(), line));
        e.0.push(name);
        e.1 = line;
    }
    m.into_iter()
        .filter(|(_, (v, _))| v.len() > 1)
        .map(|(k, (v, l))| (k, v, l))
        .collect()
}

pub(super) fn duplicate_ids(ctx: &Ctx) -> Outcome {
    let pw = ctx.passwd()?;
    let gr = ctx.group()?;
    let mut hits = Vec::new();
    let real = pw.iter().filter(|p| !p.nis);
    for (uid, names, line) in dups(
        real.clone()
            .map(|p| (p.uid.to_string(), p.name.as_str(), p.line)),
    ) {
        hits.push(
            Hit::new(format!("UID {uid} used by {}", names.join(", ")))
                .subject(names.join(","))
                .at(PASSWD, Some(line)),
        );
    }
    for (name, _, line) in dups(real.map(|p| (p.name.clone(), p.name.as_str(), p.line))) {
        hits.push(
            Hit::new(format!("user name {name} appears more than once"))
                .subject(name)
                .at(PASSWD, Some(line)),
        );
    }
    let greal = gr.iter().filter(|g| !g.nis);
    for (gid, names, line) in dups(
        greal
            .clone()
            .map(|g| (g.gid.to_string(), g.name.as_str(), g.line)),
    ) {
        hits.push(
            Hit::new(format!("GID {gid} used by groups {}", names.join(", ")))
                .subject(names.join(","))
                .at(GROUP, Some(line)),
        );
    }
    for (name, _, line) in dups(greal.map(|g| (g.name.clone(), g.name.as_str(), g.line))) {
        hits.push(
            Hit::new(format!("group name {name} appears more than once"))
                .subject(name)
                .at(GROUP, Some(line)),
        );
    }
    Ok(hits)
}

pub(super) fn legacy_nis(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| p.nis) {
        hits.push(Hit::new("NIS inclusion line").at(PASSWD, Some(p.line)));
    }
    for s in ctx.shadow_opt()?.iter().filter(|s| s.nis) {
        hits.push(Hit::new("NIS inclusion line").at("/etc/shadow", Some(s.line)));
    }
    if let Ok(g) = ctx.group() {
        for g in g.iter().filter(|g| g.nis) {
            hits.push(Hit::new("NIS inclusion line").at(GROUP, Some(g.line)));
        }
    }
    Ok(hits)
}

pub(super) fn hygiene(ctx: &Ctx) -> Outcome {
    let pw = ctx.passwd()?;
    let gr = ctx.group()?;
    let mut hits = Vec::new();
    if let Some(r) = pw.iter().find(|p| p.name == "root" && p.gid != 0) {
        hits.push(
            Hit::new(format!("root's primary GID is {}", r.gid))
                .subject("root")
                .at(PASSWD, Some(r.line)),
        );
    }
    if let Some(g) = gr
        .iter()
        .find(|g| g.name == "shadow" && !g.members.is_empty())
    {
        hits.push(
            Hit::new(format!(
                "shadow group has members: {}",
                g.members.join(", ")
            ))
            .subject("shadow")
            .at(GROUP, Some(g.line)),
        );
    }
    for p in pw
        .iter()
        .filter(|p| !p.nis && !gr.iter().any(|g| g.gid == p.gid))
    {
        hits.push(
            Hit::new(format!("primary GID {} has no group entry", p.gid))
                .subject(&p.name)
                .at(PASSWD, Some(p.line)),
        );
    }
    for s in ctx.shadow_opt()? {
        if let Some(d) = s.last_change {
            if d > ctx.today + 1 {
                hits.push(
                    Hit::new("last password change lies in the future")
                        .subject(&s.name)
                        .at("/etc/shadow", Some(s.line)),
                );
            }
        }
    }
    if let Some(t) = ctx.text("/etc/default/useradd")? {
        {
            let inactive = crate::parse::content_lines(&t)
                .filter_map(|(l, s)| {
                    s.trim()
                        .strip_prefix("INACTIVE=")
                        .map(|v| (l, v.trim().to_string()))
                })
                .last();
            match inactive {
                Some((l, v)) => match v.parse::<i64>() {
                    Ok(n) if (0..=30).contains(&n) => {}
                    _ => hits.push(
                        Hit::new(format!("INACTIVE={v} (want 0..30 days)"))
                            .at("/etc/default/useradd", Some(l)),
                    ),
                },
                None => hits.push(
                    Hit::new("INACTIVE not set: accounts never expire after password expiry")
                        .at("/etc/default/useradd", None),
                ),
            }
        }
    }
    Ok(hits)
}
