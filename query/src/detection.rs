//! Loading detections (`.spl` files or ESCU YAMLs) and ESCU macro YAMLs.

use std::path::{Path, PathBuf};

use yaml_rust2::Yaml;

use crate::spl::{Macro, MacroSet};

/// A detection to run: its name, where it came from and its SPL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The YAML `name:`, or the file stem.
    pub name: String,
    pub path: PathBuf,
    /// The SPL before macro expansion.
    pub search: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DetectionError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid YAML: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Content { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Walk { path: PathBuf, message: String },
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read(path: &Path) -> Result<String, DetectionError> {
    std::fs::read_to_string(path).map_err(|source| DetectionError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_yaml(path: &Path, text: &str) -> Result<Yaml, DetectionError> {
    crate::yaml::first_document(text).map_err(|e| DetectionError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Load a detection: an ESCU YAML (`.yml`/`.yaml`, its `search:` key) or
/// any other file, taken whole as the query.
pub fn load(path: &Path) -> Result<Detection, DetectionError> {
    let text = read(path)?;
    if !is_yaml(path) {
        return Ok(Detection {
            name: stem(path),
            path: path.to_path_buf(),
            search: text,
        });
    }
    let doc = parse_yaml(path, &text)?;
    let search = doc["search"]
        .as_str()
        .ok_or_else(|| DetectionError::Content {
            path: path.to_path_buf(),
            message: "no `search:` string in this YAML".into(),
        })?
        .to_string();
    let name = doc["name"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| stem(path));
    Ok(Detection {
        name,
        path: path.to_path_buf(),
        search,
    })
}

/// One ESCU macro YAML; None when it has no `definition` (not a macro).
pub fn load_macro(path: &Path) -> Result<Option<Macro>, DetectionError> {
    let doc = parse_yaml(path, &read(path)?)?;
    let Some(definition) = yaml_scalar(&doc["definition"]) else {
        return Ok(None);
    };
    let name = doc["name"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| stem(path));
    let args = match &doc["arguments"] {
        Yaml::Array(items) => items
            .iter()
            .map(|a| {
                yaml_scalar(a).ok_or_else(|| DetectionError::Content {
                    path: path.to_path_buf(),
                    message: "macro `arguments` must be a list of names".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
        Yaml::BadValue | Yaml::Null => Vec::new(),
        _ => {
            return Err(DetectionError::Content {
                path: path.to_path_buf(),
                message: "macro `arguments` must be a list".into(),
            })
        }
    };
    Ok(Some(Macro {
        name,
        args,
        definition,
    }))
}

/// A scalar as text (YAML may type `definition: true` as a boolean).
fn yaml_scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

impl MacroSet {
    /// [`MacroSet::builtin`] plus every macro YAML under `dir` (recursive);
    /// loaded macros override the built-ins.
    pub fn load_dir(dir: &Path) -> Result<MacroSet, DetectionError> {
        let mut set = MacroSet::builtin();
        let mut paths = Vec::new();
        for entry in walkdir::WalkDir::new(dir).follow_links(true) {
            let entry = entry.map_err(|e| DetectionError::Walk {
                path: e.path().unwrap_or(dir).to_path_buf(),
                message: e.to_string(),
            })?;
            if entry.file_type().is_file() && is_yaml(entry.path()) {
                paths.push(entry.into_path());
            }
        }
        paths.sort();
        for p in paths {
            if let Some(m) = load_macro(&p)? {
                set.insert(m);
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_spl_files() {
        let dir = tempfile::tempdir().unwrap();
        let y = dir.path().join("d.yml");
        std::fs::write(
            &y,
            "name: My Det\nsearch: |-\n  | tstats count\n    FROM datamodel=Endpoint.Processes\nother: 1\n",
        )
        .unwrap();
        let d = load(&y).unwrap();
        assert_eq!(d.name, "My Det");
        assert_eq!(
            d.search,
            "| tstats count\n  FROM datamodel=Endpoint.Processes"
        );
        let s = dir.path().join("q.spl");
        std::fs::write(&s, "| tstats count from datamodel=X\n").unwrap();
        let d = load(&s).unwrap();
        assert_eq!(d.name, "q");
        let bad = dir.path().join("bad.yml");
        std::fs::write(&bad, "name: x\n").unwrap();
        let e = load(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.yml") && e.contains("search"), "{e}");
        let e = load(&dir.path().join("none.spl")).unwrap_err().to_string();
        assert!(e.contains("none.spl"), "{e}");
        std::fs::write(&bad, "a: [unclosed\n").unwrap();
        assert!(load(&bad).unwrap_err().to_string().contains("bad.yml"));
    }

    #[test]
    fn macro_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/m.yml"),
            "name: two\narguments:\n  - a\n  - b\ndefinition: '$a$ $b$'\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("f.yml"),
            "definition: \"false\"\nname: cfg\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notmacro.yml"), "x: 1\n").unwrap();
        let set = MacroSet::load_dir(dir.path()).unwrap();
        assert_eq!(set.get("two", 2).unwrap().definition, "$a$ $b$");
        assert_eq!(set.get("cfg", 0).unwrap().definition, "false");
        assert!(set.get("drop_dm_object_name", 1).is_some());
        assert_eq!(set.expand("`two(x, y)` `cfg`").unwrap(), "x y false");
    }
}
