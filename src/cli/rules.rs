//! `prep rules`: the rule registry for people: every rule in one list, or one explained.

use anyhow::{anyhow, Result};
use prep::model::rules;

pub fn run(code: Option<&str>) -> Result<i32> {
    match code {
        None => {
            for r in rules::ALL {
                outln!(
                    "{}  {:<8} {:<26} {}",
                    r.code,
                    r.severity.as_str(),
                    r.name,
                    r.summary
                );
            }
        }
        Some(c) => {
            let r = rules::find(c)
                .ok_or_else(|| anyhow!("no rule {c:?}; `prep rules` lists them all"))?;
            outln!("{} {} ({})\n", r.code, r.name, r.severity.as_str());
            outln!("{}\n", r.summary);
            outln!("{}\n", r.explanation);
            outln!("Bad:\n  {}\n", r.bad);
            outln!("Good:\n  {}", r.good);
        }
    }
    Ok(0)
}
