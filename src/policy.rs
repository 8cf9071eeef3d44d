//! A lock checked against the policies: the project's (`[policy]` in models.toml) and the
//! person's or machine's (`[policy]` in config.toml).
//!
//! # How the two combine
//!
//! Both apply, each on its own, so for every rule the stricter wins: a model must be allowed by
//! the project *and* by the machine. An entry's exceptions in models.toml (`allow = [...]`,
//! `license = "ID"`) lift the project's rules only: a rule in config.toml belongs to whoever
//! runs hfdl (a developer, a CI runner, a production host), and a project, being a file anyone
//! can change, cannot lift it. A violation says which file sets the rule, and gives the exact
//! exception to write when models.toml can lift it.
//!
//! # The rules
//!
//! - `licenses`: every license the card states must be listed (case-insensitive Hub ids); a
//!   card that states none, or cannot be read, is `unknown`, which must be listed too. A
//!   license `other` is accepted by `other` or by its `license_name`.
//! - `pickle`: files whose name marks them pickle-based (`.bin`, `.pt`, `.pth`, `.ckpt`,
//!   `.pkl`, …) are denied, warned about, or allowed.
//! - `remote-code`: an entry whose locked config.json has `auto_map`, or that locks Python
//!   files, is denied (one whose config.json could not be read too: remote code cannot be
//!   ruled out).
//! - `max-size`: the total size of an entry's locked files.
//!
//! Everything is read from the lock, so checking needs no network (`hfdl sync --frozen`).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use indicatif::DecimalBytes;
use serde::Serialize;

use crate::lock::metadata::{CONFIG_JSON, RemoteCode, WeightFormat, is_python};
use crate::lock::{LockedModel, Lockfile};
use crate::manifest::Manifest;
use crate::manifest::policy::{Exceptions, PickleRule, Policy, RemoteCodeRule, Rule};

/// Where a rule is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// `[policy]` in models.toml: the project's, which an entry's exceptions lift.
    Project,
    /// `[policy]` in config.toml: the person's or machine's, which no project lifts.
    Config,
}

impl Scope {
    /// The file, as messages name it.
    pub fn file(self) -> &'static str {
        match self {
            Scope::Project => "models.toml",
            Scope::Config => "config.toml",
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// `pickle = "warn"`: reported, the lock is written.
    Warning,
    /// A violation: the command fails and the lock is not written.
    Violation,
}

/// One rule an entry breaks (or, for `pickle = "warn"`, is warned about).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The entry's name.
    pub name: String,
    /// Its repo.
    pub repo: String,
    /// The rule.
    pub rule: Rule,
    /// A violation or a warning.
    pub severity: Severity,
    /// The files at fault: the pickles, the Python files and config.json, README.md (the card,
    /// for the license), the largest file (for the size).
    pub files: Vec<String>,
    /// What was found, for people: `pytorch_model.bin is pickle-based: loading it can run code`.
    pub message: String,
    /// The policies that refuse (or warn about) it.
    pub set_by: Vec<Scope>,
    /// The line to write in the entry's `[models.NAME]` to accept it on purpose: when only the
    /// project's policy refuses it (a rule of config.toml cannot be lifted there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
}

impl Finding {
    /// The finding on one line: `tiny: pytorch_model.bin is pickle-based … (pickle in
    /// models.toml [policy])`.
    pub fn line(&self) -> String {
        let files: Vec<&str> = self.set_by.iter().map(|scope| scope.file()).collect();
        format!(
            "{}: {} ({} in {} [policy])",
            self.name,
            self.message,
            self.rule.key(),
            files.join(" and ")
        )
    }
}

/// The two policies, and what the project's entries lift.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policies<'a> {
    /// `[policy]` of models.toml.
    pub project: Option<&'a Policy>,
    /// `[policy]` of config.toml.
    pub config: Option<&'a Policy>,
    /// The manifest, for the entries' exceptions (`None`: `sync --frozen` without one).
    pub manifest: Option<&'a Manifest>,
}

impl<'a> Policies<'a> {
    /// The policies of a project: its manifest's `[policy]` and config.toml's.
    pub fn new(manifest: Option<&'a Manifest>, config: Option<&'a Policy>) -> Policies<'a> {
        Policies {
            project: manifest.and_then(|m| m.policy.as_ref()),
            config,
            manifest,
        }
    }

    /// Whether any rule is set at all (with none, nothing is checked and nothing changes).
    pub fn is_empty(&self) -> bool {
        self.project.is_none_or(Policy::is_empty) && self.config.is_none_or(Policy::is_empty)
    }

    fn exceptions(&self, name: &str) -> Option<&'a Exceptions> {
        self.manifest
            .and_then(|m| m.models.get(name))
            .map(|spec| &spec.exceptions)
    }

    /// The findings for every entry of `lock`, by entry then rule.
    pub fn check_lock(&self, lock: &Lockfile) -> Vec<Finding> {
        lock.models
            .iter()
            .flat_map(|model| self.check(model))
            .collect()
    }

    /// The findings for one locked entry, by rule.
    pub fn check(&self, model: &LockedModel) -> Vec<Finding> {
        self.check_with(model, &[])
    }

    /// [`Policies::check`], where `pickles` are more pickle-based files than the names say:
    /// those `hfdl audit --scan` found by their bytes.
    pub fn check_with(&self, model: &LockedModel, pickles: &[String]) -> Vec<Finding> {
        if self.is_empty() {
            return Vec::new();
        }
        let none = Exceptions::default();
        let exceptions = self.exceptions(&model.name).unwrap_or(&none);
        let mut findings = Vec::new();
        findings.extend(self.license(model, exceptions));
        findings.extend(self.pickle(model, pickles, exceptions));
        findings.extend(self.remote_code(model, exceptions));
        findings.extend(self.max_size(model, exceptions));
        findings
    }

    /// The scopes whose `refuses(policy, lifted)` is true: the project's with the entry's
    /// exceptions, config.toml's without.
    fn refusing(&self, mut refuses: impl FnMut(&'a Policy, bool) -> bool) -> Vec<Scope> {
        let mut scopes = Vec::new();
        if self.project.is_some_and(|p| refuses(p, true)) {
            scopes.push(Scope::Project);
        }
        if self.config.is_some_and(|p| refuses(p, false)) {
            scopes.push(Scope::Config);
        }
        scopes
    }

    fn license(&self, model: &LockedModel, exceptions: &Exceptions) -> Option<Finding> {
        let metadata = model.metadata.as_ref();
        let ids = metadata.map_or_else(
            || vec!["unknown".to_owned()],
            crate::lock::ModelMetadata::license_ids,
        );
        let license_name = metadata.and_then(|m| m.license_name.as_deref());
        // The ids a list must hold for the entry to pass: one per card license, where `other`
        // passes by its name too.
        let refused_by = |allowed: &[String], extra: &[String]| -> Vec<String> {
            let listed = |id: &str| {
                allowed
                    .iter()
                    .chain(extra)
                    .any(|known| known.eq_ignore_ascii_case(id))
            };
            ids.iter()
                .filter(|id| {
                    !(listed(id)
                        || (id.eq_ignore_ascii_case("other") && license_name.is_some_and(listed)))
                })
                .cloned()
                .collect()
        };
        let mut refused = BTreeSet::new();
        let set_by = self.refusing(|policy, lifted| {
            let Some(allowed) = &policy.licenses else {
                return false;
            };
            let extra = if lifted {
                exceptions.licenses.as_slice()
            } else {
                &[]
            };
            let ids = refused_by(allowed, extra);
            refused.extend(ids.iter().cloned());
            !ids.is_empty()
        });
        if set_by.is_empty() {
            return None;
        }
        let message = match metadata {
            None => "its license is not recorded (models.lock was written by an older hfdl; `hfdl lock` records it)".to_owned(),
            Some(m) if m.license.is_empty() => {
                "the card states no license (unknown)".to_owned()
            }
            Some(m) => format!("license {} is not allowed", quoted(&m.license_display())),
        };
        // What to accept: `other` by its name, the others by id.
        let mut accept: Vec<String> = exceptions.licenses.clone();
        for id in &refused {
            let id = match license_name {
                Some(name) if id.eq_ignore_ascii_case("other") => name.to_owned(),
                _ => id.clone(),
            };
            if !accept.iter().any(|known| known.eq_ignore_ascii_case(&id)) {
                accept.push(id);
            }
        }
        // Not recorded: `hfdl lock` is the fix, not accepting "unknown".
        let exception = metadata.map(|_| match accept.as_slice() {
            [one] => format!("license = \"{one}\""),
            several => format!(
                "license = {}",
                toml_list(several.iter().map(String::as_str))
            ),
        });
        Some(finding(
            model,
            Rule::License,
            Severity::Violation,
            vec!["README.md".to_owned()],
            message,
            set_by,
            exception,
        ))
    }

    fn pickle(
        &self,
        model: &LockedModel,
        pickles: &[String],
        exceptions: &Exceptions,
    ) -> Option<Finding> {
        let mut files: Vec<String> = model
            .files
            .iter()
            .filter(|f| WeightFormat::of_path(&f.path) == Some(WeightFormat::Pickle))
            .map(|f| f.path.clone())
            .collect();
        let by_bytes: Vec<String> = pickles
            .iter()
            .filter(|path| !files.contains(path))
            .cloned()
            .collect();
        files.extend(by_bytes);
        files.sort();
        if files.is_empty() {
            return None;
        }
        let lifted = exceptions.allow.contains(&Rule::Pickle);
        let rule_of = |policy: &Policy, project: bool| {
            if project && lifted {
                None
            } else {
                policy.pickle
            }
        };
        let denied = self.refusing(|p, project| rule_of(p, project) == Some(PickleRule::Deny));
        let warned = self.refusing(|p, project| rule_of(p, project) == Some(PickleRule::Warn));
        let (severity, set_by) = if !denied.is_empty() {
            (Severity::Violation, denied)
        } else if !warned.is_empty() {
            (Severity::Warning, warned)
        } else {
            return None;
        };
        let message = match files.as_slice() {
            [one] => format!("{one} is pickle-based: loading it can run code"),
            several => format!(
                "{} pickle-based files ({}): loading them can run code",
                several.len(),
                several.join(", ")
            ),
        };
        Some(finding(
            model,
            Rule::Pickle,
            severity,
            files,
            message,
            set_by,
            Some(allow_line(&exceptions.allow, Rule::Pickle)),
        ))
    }

    fn remote_code(&self, model: &LockedModel, exceptions: &Exceptions) -> Option<Finding> {
        let paths = || model.files.iter().map(|f| f.path.as_str());
        let config_locked = paths().any(|path| path == CONFIG_JSON);
        let remote_code = model.metadata.as_ref().map_or_else(
            || RemoteCode::decide(paths(), (!config_locked).then_some(false)),
            |m| m.remote_code,
        );
        if !remote_code.may_run_code() {
            return None;
        }
        let lifted = exceptions.allow.contains(&Rule::RemoteCode);
        let set_by = self.refusing(|policy, project| {
            !(project && lifted) && policy.remote_code == Some(RemoteCodeRule::Deny)
        });
        if set_by.is_empty() {
            return None;
        }
        let python: Vec<String> = paths()
            .filter(|path| is_python(path))
            .map(str::to_owned)
            .collect();
        let (files, message) = match remote_code {
            RemoteCode::AutoMap => {
                let mut files = vec![CONFIG_JSON.to_owned()];
                files.extend(python);
                (
                    files,
                    "config.json has `auto_map`: loading it runs the repo's code (trust_remote_code)"
                        .to_owned(),
                )
            }
            RemoteCode::Python => {
                let message = format!("it ships Python code ({})", python.join(", "));
                (python, message)
            }
            RemoteCode::Unknown | RemoteCode::No => (
                vec![CONFIG_JSON.to_owned()],
                if model.metadata.is_none() {
                    "whether it needs remote code is not recorded (models.lock was written by an older hfdl; `hfdl lock` records it)".to_owned()
                } else {
                    "config.json could not be read, so remote code cannot be ruled out".to_owned()
                },
            ),
        };
        // Not recorded: `hfdl lock` is the fix, not an exception.
        let exception = (model.metadata.is_some() || remote_code != RemoteCode::Unknown)
            .then(|| allow_line(&exceptions.allow, Rule::RemoteCode));
        Some(finding(
            model,
            Rule::RemoteCode,
            Severity::Violation,
            files,
            message,
            set_by,
            exception,
        ))
    }

    fn max_size(&self, model: &LockedModel, exceptions: &Exceptions) -> Option<Finding> {
        let total = model.total_size();
        let lifted = exceptions.allow.contains(&Rule::MaxSize);
        // The strictest limit exceeded, for the message.
        let mut limit: Option<&crate::manifest::policy::MaxSize> = None;
        let set_by = self.refusing(|policy, project| {
            let Some(max) = policy.max_size.as_ref().filter(|_| !(project && lifted)) else {
                return false;
            };
            if total <= max.bytes {
                return false;
            }
            if limit.is_none_or(|l| max.bytes < l.bytes) {
                limit = Some(max);
            }
            true
        });
        let limit = limit.filter(|_| !set_by.is_empty())?;
        let largest = model.files.iter().max_by_key(|f| f.size);
        let mut message = format!(
            "its files total {}, more than max-size = \"{}\"",
            DecimalBytes(total),
            limit.text
        );
        if let Some(largest) = largest {
            let _ = write!(
                message,
                " (largest: {}, {})",
                largest.path,
                DecimalBytes(largest.size)
            );
        }
        Some(finding(
            model,
            Rule::MaxSize,
            Severity::Violation,
            largest.map(|f| f.path.clone()).into_iter().collect(),
            message,
            set_by,
            Some(allow_line(&exceptions.allow, Rule::MaxSize)),
        ))
    }
}

fn finding(
    model: &LockedModel,
    rule: Rule,
    severity: Severity,
    files: Vec<String>,
    message: String,
    set_by: Vec<Scope>,
    exception: Option<String>,
) -> Finding {
    // An exception in models.toml lifts the project's rule only.
    let exception = exception.filter(|_| set_by == [Scope::Project]);
    Finding {
        name: model.name.clone(),
        repo: model.repo.to_string(),
        rule,
        severity,
        files,
        message,
        set_by,
        exception,
    }
}

/// `"text"`.
fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

/// A TOML array of strings on one line.
fn toml_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.map(|item| format!("\"{item}\"")).collect();
    format!("[{}]", items.join(", "))
}

/// `allow = [...]` with `rule` added to what the entry already allows.
fn allow_line(existing: &BTreeSet<Rule>, rule: Rule) -> String {
    let mut rules = existing.clone();
    rules.insert(rule);
    format!(
        "allow = {}",
        toml_list(rules.iter().map(|rule| rule.as_str()))
    )
}

/// The violations among `findings`.
pub fn violations(findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Violation)
        .cloned()
        .collect()
}

/// The warnings among `findings`, one line each.
pub fn warning_lines(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(Finding::line)
        .collect()
}

/// The error message for `violations`: on one line, each violation after the other.
pub fn summary(violations: &[Finding]) -> String {
    let lines: Vec<String> = violations.iter().map(Finding::line).collect();
    match lines.as_slice() {
        [one] => format!("policy violation: {one}"),
        several => format!(
            "{} policy violations: {}",
            several.len(),
            several.join("; ")
        ),
    }
}

/// How the user may act on `violations`: what a project may write where to accept them on
/// purpose (in `[models.NAME]`, or as `hfdl add` flags for the entry being added), the usual
/// fix for pickles, and where a rule of config.toml is set.
pub fn help(violations: &[Finding], config: &std::path::Path, adding: Option<&Adding>) -> String {
    let mut lines = Vec::new();
    let exceptions: Vec<&Finding> = violations
        .iter()
        .filter(|f| f.exception.is_some())
        .collect();
    let added: Vec<&&Finding> = exceptions
        .iter()
        .filter(|f| adding.is_some_and(|a| a.name == f.name))
        .collect();
    if let Some(adding) = adding
        && !added.is_empty()
    {
        let mut flags = Vec::new();
        for finding in &added {
            match finding.rule {
                Rule::License => {
                    for id in license_ids(finding.exception.as_deref().unwrap_or_default()) {
                        flags.push(format!("--allow-license {id}"));
                    }
                }
                rule => flags.push(format!("--allow {rule}")),
            }
        }
        lines.push(format!(
            "to add it anyway, on purpose: hfdl add {} {}",
            adding.repo,
            flags.join(" ")
        ));
    }
    let others: Vec<&&Finding> = exceptions
        .iter()
        .filter(|f| adding.is_none_or(|a| a.name != f.name))
        .collect();
    if !others.is_empty() {
        lines.push("to accept these on purpose, write in models.toml:".to_owned());
        for finding in others {
            lines.push(format!(
                "  [models.{}]  {}",
                finding.name,
                finding.exception.as_deref().unwrap_or_default()
            ));
        }
    }
    if violations.iter().any(|f| f.rule == Rule::Pickle) {
        lines.push(
            "pickle-based weights: when the repo also has safetensors (or GGUF, ONNX), the usual fix is to leave them out: exclude = [\"*.bin\", \"*.pt\", \"*.pth\", \"*.ckpt\", \"*.pkl\"] in the entry (or `hfdl add REPO --exclude '*.bin'`)"
                .to_owned(),
        );
    }
    if violations.iter().any(|f| f.set_by.contains(&Scope::Config)) {
        lines.push(format!(
            "a rule of config.toml ({}) is yours or this machine's: an exception in models.toml does not lift it; change it there",
            config.display()
        ));
    }
    lines.push(
        "`hfdl audit` shows each model's license, formats and remote code; `hfdl explain policy-violation` explains the rules"
            .to_owned(),
    );
    lines.join("\n")
}

/// The ids of a `license = "ID"` or `license = ["A", "B"]` line.
fn license_ids(line: &str) -> Vec<String> {
    line.trim_start_matches("license = ")
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The entry `hfdl add` is adding: its violations are accepted with flags, not in the file.
#[derive(Debug, Clone)]
pub struct Adding {
    /// The new entry's name.
    pub name: String,
    /// The repo as given to `hfdl add`.
    pub repo: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ContentHash;
    use crate::lock::{LockedFile, ModelMetadata};
    use crate::repo::{RepoId, RepoType};

    fn model(files: &[(&str, u64)], metadata: Option<ModelMetadata>) -> LockedModel {
        LockedModel {
            name: "tiny".into(),
            repo: RepoId::parse("acme/tiny").unwrap(),
            repo_type: RepoType::Model,
            revision: "main".into(),
            commit: "c".repeat(40),
            requirement: String::new(),
            files: files
                .iter()
                .map(|(path, size)| LockedFile {
                    path: (*path).into(),
                    size: *size,
                    hash: ContentHash::git_sha1(&"a".repeat(40)).unwrap(),
                    xet_hash: None,
                })
                .collect(),
            metadata,
        }
    }

    fn licensed(license: &[&str], name: Option<&str>) -> ModelMetadata {
        ModelMetadata {
            license: license.iter().map(|l| (*l).to_owned()).collect(),
            license_name: name.map(str::to_owned),
            remote_code: RemoteCode::No,
            ..ModelMetadata::default()
        }
    }

    fn policy(text: &str) -> Policy {
        let manifest = crate::manifest::parse(
            std::path::Path::new("models.toml"),
            &format!("[policy]\n{text}"),
        )
        .unwrap();
        manifest.policy.unwrap()
    }

    #[test]
    fn licenses_are_an_allow_list_where_unknown_must_be_listed() {
        let project = policy("licenses = [\"Apache-2.0\", \"mit\"]");
        let policies = Policies {
            project: Some(&project),
            ..Policies::default()
        };
        assert!(
            policies
                .check(&model(&[], Some(licensed(&["apache-2.0"], None))))
                .is_empty()
        );
        let found = policies.check(&model(&[], Some(licensed(&["cc-by-nc-4.0"], None))));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].exception.as_deref(),
            Some("license = \"cc-by-nc-4.0\"")
        );
        assert_eq!(found[0].files, ["README.md"]);
        let unknown = policies.check(&model(&[], Some(licensed(&[], None))));
        assert_eq!(unknown[0].message, "the card states no license (unknown)");
        assert_eq!(
            unknown[0].exception.as_deref(),
            Some("license = \"unknown\"")
        );
        // `other` passes by its name, and its exception names it.
        let other = model(&[], Some(licensed(&["other"], Some("llama3"))));
        assert_eq!(
            policies.check(&other)[0].exception.as_deref(),
            Some("license = \"llama3\"")
        );
        let llama = policy("licenses = [\"llama3\"]");
        let policies = Policies {
            project: Some(&llama),
            ..Policies::default()
        };
        assert!(policies.check(&other).is_empty());
    }

    #[test]
    fn the_stricter_policy_wins_and_exceptions_lift_only_the_projects() {
        let project = policy("pickle = \"warn\"\nmax-size = \"1kB\"");
        let config = policy("pickle = \"deny\"\nmax-size = \"2kB\"");
        let pickles = model(
            &[("a.bin", 1500), ("b.safetensors", 10)],
            Some(licensed(&["mit"], None)),
        );
        let policies = Policies {
            project: Some(&project),
            config: Some(&config),
            manifest: None,
        };
        let found = policies.check(&pickles);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].rule, Rule::Pickle);
        assert_eq!(found[0].severity, Severity::Violation);
        assert_eq!(found[0].set_by, [Scope::Config]);
        assert_eq!(
            found[0].exception, None,
            "config.toml's rule cannot be lifted"
        );
        assert_eq!(found[1].rule, Rule::MaxSize);
        assert_eq!(found[1].set_by, [Scope::Project]);
        assert!(
            found[1].message.contains("max-size = \"1kB\""),
            "{}",
            found[1].message
        );
        assert_eq!(
            found[1].exception.as_deref(),
            Some("allow = [\"max-size\"]")
        );

        // Alone, the project's warn is a warning, and an exception silences it.
        let policies = Policies {
            project: Some(&project),
            ..Policies::default()
        };
        assert_eq!(policies.check(&pickles)[0].severity, Severity::Warning);
        let manifest = crate::manifest::parse(
            std::path::Path::new("models.toml"),
            "[models.tiny]\nrepo = \"acme/tiny\"\nallow = [\"pickle\", \"max-size\"]\n[policy]\npickle = \"deny\"\n",
        )
        .unwrap();
        let policies = Policies::new(Some(&manifest), None);
        assert!(policies.check(&pickles).is_empty());
    }

    #[test]
    fn remote_code_names_config_json_and_the_python_files() {
        let project = policy("remote-code = \"deny\"");
        let policies = Policies {
            project: Some(&project),
            ..Policies::default()
        };
        let mut metadata = licensed(&["mit"], None);
        metadata.remote_code = RemoteCode::AutoMap;
        let found = policies.check(&model(
            &[("config.json", 1), ("modeling_x.py", 1)],
            Some(metadata),
        ));
        assert_eq!(found[0].files, ["config.json", "modeling_x.py"]);
        assert!(found[0].message.contains("auto_map"));
        // An older lock without metadata: the Python files still show.
        let found = policies.check(&model(&[("handler.py", 1)], None));
        assert_eq!(found[0].files, ["handler.py"]);
        assert!(policies.check(&model(&[("a.json", 1)], None)).is_empty());
    }

    #[test]
    fn the_help_gives_the_lines_to_write_and_the_usual_fix() {
        let project = policy("pickle = \"deny\"\nlicenses = [\"mit\"]");
        let policies = Policies {
            project: Some(&project),
            ..Policies::default()
        };
        let found = policies.check(&model(&[("w.bin", 1)], Some(licensed(&["gemma"], None))));
        let help = help(&found, std::path::Path::new("/c/config.toml"), None);
        assert!(
            help.contains("[models.tiny]  license = \"gemma\""),
            "{help}"
        );
        assert!(
            help.contains("[models.tiny]  allow = [\"pickle\"]"),
            "{help}"
        );
        assert!(help.contains("exclude = [\"*.bin\""), "{help}");
        let adding = Adding {
            name: "tiny".into(),
            repo: "acme/tiny".into(),
        };
        let help = super::help(&found, std::path::Path::new("/c"), Some(&adding));
        assert!(
            help.contains("hfdl add acme/tiny --allow-license gemma --allow pickle"),
            "{help}"
        );
        assert_eq!(
            summary(&found[..1]),
            "policy violation: tiny: license \"gemma\" is not allowed (licenses in models.toml [policy])"
        );
    }
}
