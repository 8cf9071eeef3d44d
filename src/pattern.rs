//! include/exclude patterns with the `fnmatch` semantics of huggingface_hub (hub-protocol §8.4).
//!
//! `huggingface_hub.utils.filter_repo_objects` matches every repo path with
//! `fnmatch.fnmatchcase`, so a `*` crosses `/` (`data/*.json` matches `data/a/b.json`), a pattern
//! ending in `/` selects a whole folder, and classes follow CPython's `fnmatch.translate`. hfdl
//! reproduces that exactly, so a pattern copied from `hf download --include` selects the same
//! files. Each list is compiled once into a single anchored [`Regex`].

use regex::Regex;

/// Why a pattern was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A compiled allow list (`include`) and ignore list (`exclude`).
#[derive(Debug, Clone)]
pub struct PathFilter {
    /// `None` when no include pattern was given: everything is allowed.
    include: Option<Regex>,
    /// `None` when no exclude pattern was given: nothing is ignored.
    exclude: Option<Regex>,
}

impl PathFilter {
    /// Compiles the two pattern lists. An empty `include` allows every path.
    pub fn new(include: &[String], exclude: &[String]) -> Result<PathFilter, PatternError> {
        Ok(PathFilter {
            include: compile_list(include)?,
            exclude: compile_list(exclude)?,
        })
    }

    /// True when `path` is allowed by `include` and not ignored by `exclude` (exclude wins).
    pub fn matches(&self, path: &str) -> bool {
        let path = normalise(path);
        let allowed = self.include.as_ref().is_none_or(|re| re.is_match(&path));
        let ignored = self.exclude.as_ref().is_some_and(|re| re.is_match(&path));
        allowed && !ignored
    }
}

/// Checks one pattern on its own (the manifest uses it to point at the bad one).
pub fn check_pattern(pattern: &str) -> Result<(), PatternError> {
    compile_list(&[pattern.to_owned()]).map(|_| ())
}

/// Backslashes are normalised to `/` in patterns and paths, as huggingface_hub does.
fn normalise(text: &str) -> String {
    text.replace('\\', "/")
}

/// One anchored regex matching any of `patterns`, or `None` for an empty list.
fn compile_list(patterns: &[String]) -> Result<Option<Regex>, PatternError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut alternatives = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        if pattern.is_empty() {
            return Err(PatternError {
                pattern: pattern.clone(),
                reason: "the pattern is empty; use `*` to match every file".to_owned(),
            });
        }
        let mut pattern = normalise(pattern);
        // `_add_wildcard_to_directories`: `onnx/` means everything under `onnx/`.
        if pattern.ends_with('/') {
            pattern.push('*');
        }
        alternatives.push(format!("(?:{})", translate(&pattern)));
    }
    let source = format!(r"\A(?s:{})\z", alternatives.join("|"));
    Regex::new(&source).map(Some).map_err(|e| PatternError {
        pattern: patterns.join(", "),
        reason: format!("it cannot be compiled: {e}"),
    })
}

/// A piece of the inside of a `[...]` class after CPython's range clean-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClassToken {
    Literal(char),
    /// A `-` between two literals that makes a range.
    Range,
}

/// Translates one fnmatch pattern into regex syntax (without anchors), like
/// CPython's `fnmatch.translate`.
fn translate(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let n = chars.len();
    let mut out = String::new();
    let mut i = 0;
    let mut last_was_star = false;
    while i < n {
        let c = chars[i];
        i += 1;
        if c == '*' {
            // Consecutive stars are one star.
            if !last_was_star {
                out.push_str(".*");
            }
            last_was_star = true;
            continue;
        }
        last_was_star = false;
        match c {
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < n && chars[j] == '!' {
                    j += 1;
                }
                if j < n && chars[j] == ']' {
                    j += 1;
                }
                while j < n && chars[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    // An unclosed `[` is a literal `[`.
                    out.push_str(r"\[");
                } else {
                    out.push_str(&class_regex(&chars, i, j));
                    i = j + 1;
                }
            }
            other => out.push_str(&regex::escape(other.encode_utf8(&mut [0; 4]))),
        }
    }
    out
}

/// The regex for the class `chars[start..end]` (between `[` and `]`), following the chunking
/// of CPython's `fnmatch.translate`: a `-` after the first character makes a range, a `-` right
/// after a range end or at the end is literal, and empty ranges (`z-a`) are dropped.
fn class_regex(chars: &[char], start: usize, end: usize) -> String {
    let stuff = &chars[start..end];
    let tokens: Vec<ClassToken> = if stuff.contains(&'-') {
        let mut chunks: Vec<Vec<char>> = Vec::new();
        let mut i = start;
        let mut k = if chars[start] == '!' {
            start + 2
        } else {
            start + 1
        };
        while let Some(hyphen) = (k..end).find(|&p| chars[p] == '-') {
            chunks.push(chars[i..hyphen].to_vec());
            i = hyphen + 1;
            k = hyphen + 3;
        }
        let chunk = chars[i..end].to_vec();
        if chunk.is_empty() {
            if let Some(last) = chunks.last_mut() {
                last.push('-');
            }
        } else {
            chunks.push(chunk);
        }
        // Remove empty ranges, which are invalid in a regex.
        for k in (1..chunks.len()).rev() {
            let (Some(&prev_last), Some(&next_first)) = (chunks[k - 1].last(), chunks[k].first())
            else {
                continue;
            };
            if prev_last > next_first {
                let next = chunks.remove(k);
                let prev = &mut chunks[k - 1];
                prev.pop();
                prev.extend_from_slice(&next[1..]);
            }
        }
        let mut tokens = Vec::new();
        for (index, chunk) in chunks.iter().enumerate() {
            if index > 0 {
                tokens.push(ClassToken::Range);
            }
            tokens.extend(chunk.iter().map(|&c| ClassToken::Literal(c)));
        }
        tokens
    } else {
        stuff.iter().map(|&c| ClassToken::Literal(c)).collect()
    };

    match tokens.as_slice() {
        // `[z-a]`: an empty class never matches.
        [] => return "[^\\s\\S]".to_owned(),
        // `[!]`-like leftovers: a negated empty class matches any character.
        [ClassToken::Literal('!')] => return ".".to_owned(),
        _ => {}
    }
    let (negated, body) = match tokens.split_first() {
        Some((ClassToken::Literal('!'), rest)) => (true, rest),
        _ => (false, tokens.as_slice()),
    };
    let mut class = String::from(if negated { "[^" } else { "[" });
    let mut index = 0;
    let mut items = 0;
    while index < body.len() {
        match (body[index], body.get(index + 1), body.get(index + 2)) {
            (
                ClassToken::Literal(from),
                Some(ClassToken::Range),
                Some(&ClassToken::Literal(to)),
            ) => {
                if from <= to {
                    class.push_str(&hex_char(from));
                    class.push('-');
                    class.push_str(&hex_char(to));
                    items += 1;
                }
                index += 3;
            }
            (ClassToken::Literal(c), ..) => {
                class.push_str(&hex_char(c));
                items += 1;
                index += 1;
            }
            (ClassToken::Range, ..) => {
                // A stray range operator (only in pathological patterns) is a literal `-`.
                class.push_str(&hex_char('-'));
                items += 1;
                index += 1;
            }
        }
    }
    if items == 0 {
        return if negated { "." } else { "[^\\s\\S]" }.to_owned();
    }
    class.push(']');
    class
}

/// A character as a `\x{..}` escape, valid anywhere in a regex class.
fn hex_char(c: char) -> String {
    format!("\\x{{{:X}}}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> PathFilter {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        PathFilter::new(&owned(include), &owned(exclude)).unwrap()
    }

    fn inc(pattern: &str, path: &str) -> bool {
        filter(&[pattern], &[]).matches(path)
    }

    #[test]
    fn no_patterns_allow_everything() {
        let f = filter(&[], &[]);
        assert!(f.matches("config.json"));
        assert!(f.matches("a/b/c.bin"));
    }

    #[test]
    fn star_crosses_slashes() {
        assert!(inc("data/*.json", "data/a/b.json"));
        assert!(inc("data/*.json", "data/b.json"));
        assert!(!inc("data/*.json", "other/data/b.json"));
        assert!(inc("*.json", "sub/dir/config.json"));
    }

    #[test]
    fn suffix_patterns() {
        assert!(inc("*.safetensors", "model.safetensors"));
        assert!(inc("*.safetensors", "onnx/model.safetensors"));
        assert!(!inc("*.safetensors", "model.safetensors.index.json"));
        assert!(!inc("*.safetensors", "model.bin"));
    }

    #[test]
    fn trailing_slash_selects_a_folder() {
        assert!(inc("onnx/", "onnx/model.onnx"));
        assert!(inc("onnx/", "onnx/sub/x"));
        assert!(!inc("onnx/", "onnx"));
        assert!(!inc("onnx/", "other/onnx/model.onnx"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(inc("model-?.bin", "model-1.bin"));
        assert!(!inc("model-?.bin", "model-12.bin"));
        assert!(inc("a?b", "a/b"), "? also matches `/` in fnmatch");
    }

    #[test]
    fn classes_and_negated_classes() {
        assert!(inc("[!a]*", "bert.json"));
        assert!(!inc("[!a]*", "a.json"));
        assert!(inc("[abc].txt", "b.txt"));
        assert!(!inc("[abc].txt", "d.txt"));
        assert!(inc("model-[0-9].bin", "model-7.bin"));
        assert!(!inc("model-[0-9].bin", "model-x.bin"));
        assert!(inc("[]]x", "]x"), "a `]` first in a class is literal");
        assert!(inc("[!]]x", "ax"));
        assert!(!inc("[!]]x", "]x"));
    }

    #[test]
    fn cpython_class_edge_cases() {
        assert!(inc("[a-]", "-"), "trailing hyphen is literal");
        assert!(inc("[a-]", "a"));
        assert!(inc("[-a]", "-"), "leading hyphen is literal");
        assert!(!inc("[z-a]", "z"), "an empty range never matches");
        assert!(!inc("[z-a]", "-"));
        assert!(inc("[!z-a]", "q"), "a negated empty range matches anything");
        assert!(inc("[a-c-e]", "-"), "hyphen after a range end is literal");
        assert!(inc("[a-c-e]", "e"));
        assert!(!inc("[a-c-e]", "d"));
        assert!(
            inc("[\\]", "/"),
            "backslash normalised to `/` inside a class"
        );
        assert!(inc("[&~|]", "~"));
        assert!(inc("[^a]", "^"), "`^` is not negation in fnmatch");
        assert!(!inc("[^a]", "b"));
    }

    #[test]
    fn unclosed_bracket_is_literal() {
        assert!(inc("a[b", "a[b"));
        assert!(!inc("a[b", "ab"));
        assert!(inc("[!", "[!"));
    }

    #[test]
    fn dots_are_literal() {
        assert!(inc("config.json", "config.json"));
        assert!(!inc("config.json", "configxjson"));
        assert!(
            !inc("config.json", "sub/config.json"),
            "anchored at the start"
        );
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        assert!(inc("a+b(1).json", "a+b(1).json"));
        assert!(!inc("a+b(1).json", "aab1.json"));
        assert!(inc("x{2}|$^.bin", "x{2}|$^.bin"));
        assert!(!inc("x{2}|$^.bin", "xx.bin"));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!inc("*.JSON", "config.json"));
        assert!(inc("README*", "README.md"));
        assert!(!inc("README*", "readme.md"));
    }

    #[test]
    fn backslashes_are_normalised() {
        assert!(inc("onnx\\*", "onnx/model.onnx"));
        assert!(inc("onnx/*", "onnx\\model.onnx"));
    }

    #[test]
    fn exclude_wins_over_include() {
        let f = filter(&["*.json", "*.safetensors"], &["onnx/*", "*.bin"]);
        assert!(f.matches("config.json"));
        assert!(f.matches("model.safetensors"));
        assert!(!f.matches("onnx/config.json"));
        assert!(!f.matches("model.bin"), "not included either");
        let f = filter(&["*"], &["*.json"]);
        assert!(!f.matches("config.json"));
        assert!(f.matches("model.bin"));
        let only_exclude = filter(&[], &["onnx/"]);
        assert!(only_exclude.matches("model.bin"));
        assert!(!only_exclude.matches("onnx/model.onnx"));
    }

    #[test]
    fn any_include_pattern_allows() {
        let f = filter(&["*.json", "*.txt", "model.safetensors"], &[]);
        assert!(f.matches("vocab.txt"));
        assert!(f.matches("model.safetensors"));
        assert!(!f.matches("pytorch_model.bin"));
        assert!(!f.matches("onnx/model.safetensors"));
    }

    #[test]
    fn stars_and_newlines() {
        assert!(inc("**", "anything/at/all"));
        assert!(inc("a***b", "ab"));
        assert!(inc("a*b", "a\nb"), "fnmatch uses DOTALL");
    }

    #[test]
    fn non_ascii_patterns() {
        assert!(inc("données/*.csv", "données/é.csv"));
        assert!(inc("[é]", "é"));
        assert!(inc("?", "é"));
    }

    #[test]
    fn empty_patterns_are_refused_with_their_reason() {
        let error = PathFilter::new(&[String::new()], &[]).unwrap_err();
        assert_eq!(error.pattern, "");
        assert!(error.to_string().contains("empty"), "{error}");
        assert!(PathFilter::new(&[], &[String::new()]).is_err());
        assert!(check_pattern("*.json").is_ok());
        assert!(check_pattern("").is_err());
    }
}
