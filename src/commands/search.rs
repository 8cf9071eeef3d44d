//! `hfdl search [QUERY]`: the Hub's search of models, datasets or Spaces, as a table (id,
//! downloads, likes, license, last change, gating) or JSON. Reads the Hub, writes nothing.

use super::Context;
use crate::cli::{SearchArgs, SearchSortArg};
use crate::error::Result;
use crate::ops::Project;
use crate::ops::search::{SearchOptions, SearchSort};
use crate::render;

pub async fn run(ctx: &Context, project: &Project, args: &SearchArgs) -> Result<()> {
    let options = SearchOptions {
        query: args.query.clone(),
        repo_type: args.repo_type.into(),
        author: args.author.clone(),
        filters: args.filter.clone(),
        sort: args.sort.map(|sort| match sort {
            SearchSortArg::Downloads => SearchSort::Downloads,
            SearchSortArg::Likes => SearchSort::Likes,
            SearchSortArg::Modified => SearchSort::Modified,
        }),
        limit: args.limit as usize,
    };
    let report = project.search(&options).await?;
    if ctx.json {
        return ctx.print_report(&report);
    }
    if report.results.is_empty() {
        ctx.status(&render::search::nothing_found(&report));
        return Ok(());
    }
    ctx.print_data(&render::search::table(&report))?;
    ctx.status(&render::search::hint(&report, options.limit));
    Ok(())
}
