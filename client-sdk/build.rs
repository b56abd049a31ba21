//! Generates the client from `openapi.yaml` with progenitor, and `TaskSort` (which
//! progenitor cannot name) from the same document. Nothing generated is checked in or
//! edited by hand: change the API, refresh `openapi.yaml`, rebuild. The crate reads its own
//! copy of the contract, so that it packages and builds on its own; a test holds the copy
//! byte-equal to the repository's `openapi.yaml`.

use std::{env, fs, path::Path};

const SPEC: &str = "openapi.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    let yaml = fs::read_to_string(SPEC).expect("read openapi.yaml");
    let mut document: serde_json::Value = serde_yaml::from_str(&yaml).expect("parse openapi.yaml");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).to_owned();
    let sort = task_sort(&document["components"]["schemas"]["TaskSort"]);
    fs::write(out.join("task_sort.rs"), sort).expect("write the generated TaskSort");
    treat_json_suffix_as_json(&mut document);
    let patch_bodies = merge_patch_bodies(&document);
    for name in &patch_bodies {
        patch_fields_as_options(&mut document, name);
    }
    let spec: openapiv3::OpenAPI =
        serde_json::from_value(document).expect("openapi.yaml is an OpenAPI 3.0 document");

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        // Every client carries its credentials, and `session` decides how each request is
        // sent with them (a refresh and one retry when an access token has expired).
        .with_inner_type(
            "crate::session::Auth"
                .parse::<proc_macro2::TokenStream>()
                .expect("a type path"),
        )
        .with_hooks(progenitor::HooksMode::Expected)
        // `x-rust-type` in the merge-patch bodies below names `std::option::Option`.
        .with_crate("std", progenitor::CrateVers::Any, None)
        // Values that differ only in punctuation (`due_at`, `-due_at`) get variant names
        // typify can only make unique as `DueXat` and `XdueXat`; `sort.rs` names them.
        .with_replacement(
            "TaskSort",
            "crate::sort::TaskSort",
            [
                progenitor::TypeImpl::Display,
                progenitor::TypeImpl::FromStr,
                progenitor::TypeImpl::Default,
            ]
            .into_iter(),
        );
    let tokens = progenitor::Generator::new(&settings)
        .generate_tokens(&spec)
        .expect("progenitor generates a client from openapi.yaml");
    let file = syn::parse2(tokens).expect("progenitor emits valid Rust");
    let code = prettyplease::unparse(&file);

    fs::write(out.join("taskapi.rs"), code).expect("write the generated client");
}

/// `TaskSort` from its schema: a variant per value of `enum`, named by `x-enum-varnames`
/// (`DUE_AT_REVERSED` → `DueAtReversed`) and documented by `x-enum-descriptions` when the
/// schema has them (else by the value); the schema's `default`, else its first value, is
/// the default. With `ALL` and `as_str`; `sort.rs` builds the rest on those.
fn task_sort(schema: &serde_json::Value) -> String {
    let strings = |field: &str| -> Vec<&str> {
        let values = schema[field].as_array().into_iter().flatten();
        values
            .map(|value| value.as_str().expect("a string"))
            .collect()
    };
    let (values, names) = (strings("enum"), strings("x-enum-varnames"));
    assert_eq!(
        values.len(),
        names.len(),
        "a name in x-enum-varnames per TaskSort value"
    );
    let descriptions = strings("x-enum-descriptions");
    let default = schema["default"].as_str().or(values.first().copied());
    let (mut variants, mut all, mut arms) = (String::new(), String::new(), String::new());
    for (i, (value, name)) in values.iter().zip(names).enumerate() {
        let variant = pascal_case(name);
        let doc = match descriptions.get(i) {
            Some(description) => format!("`{value}`: {description}"),
            None => format!("`{value}`"),
        };
        let default = if Some(*value) == default {
            "#[default]\n    "
        } else {
            ""
        };
        variants += &format!("    /// {doc}\n    {default}{variant},\n");
        all += &format!("Self::{variant}, ");
        arms += &format!("            Self::{variant} => {value:?},\n");
    }
    let description = schema["description"].as_str().unwrap_or_default();
    let doc: String = description
        .lines()
        .map(|line| format!("/// {line}\n"))
        .collect();
    let count = values.len();
    format!(
        r#"{doc}#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TaskSort {{
{variants}}}

impl TaskSort {{
    /// Every order, as `openapi.yaml` lists them.
    pub const ALL: [Self; {count}] = [{all}];

    /// The value on the wire.
    pub fn as_str(self) -> &'static str {{
        match self {{
{arms}        }}
    }}
}}
"#
    )
}

/// `DUE_AT_REVERSED` → `DueAtReversed`.
fn pascal_case(name: &str) -> String {
    let words = name.split('_').filter(|word| !word.is_empty());
    let capitalised = words.map(|word| word[..1].to_uppercase() + &word[1..].to_lowercase());
    capitalised.collect()
}

/// The request bodies of `PATCH` operations: JSON Merge Patches (RFC 7396), where a field
/// left out keeps its value and `null` clears it.
fn merge_patch_bodies(document: &serde_json::Value) -> Vec<String> {
    document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(|item| {
            item["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        })
        .filter_map(|reference| reference.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
        .collect()
}

/// typify turns a field that is not required into one `Option`, skipped when `None` (an
/// array into a `Vec`, skipped when empty): a merge patch could then send neither the
/// `null` that clears a field nor the `[]` that empties one. In the copy fed to progenitor
/// (the checked-in document is not changed), each such field of the merge patch `name`
/// gets one more `Option` through `x-rust-type`: a nullable field becomes
/// `Option<Option<T>>` (`None` leaves it out, `Some(None)` sends `null`, `Some(Some(v))`
/// sends `v`; `patch::Patch` builds them), an array `Option<Vec<T>>` (`Some(vec![])`
/// sends `[]`).
fn patch_fields_as_options(document: &mut serde_json::Value, name: &str) {
    let schema = &mut document["components"]["schemas"][name];
    let required = schema["required"].as_array().cloned().unwrap_or_default();
    let Some(properties) = schema["properties"].as_object_mut() else {
        return;
    };
    for (field, property) in properties.iter_mut() {
        let nullable = property["nullable"] == serde_json::Value::Bool(true);
        let array = property["type"] == "array";
        if !(nullable || array) || required.contains(&serde_json::Value::from(field.as_str())) {
            continue;
        }
        let mut inner = property.clone();
        let Some(inner_object) = inner.as_object_mut() else {
            continue;
        };
        inner_object.remove("nullable");
        inner_object.remove("description");
        // typify names constrained inner types by their title.
        inner_object.insert("title".to_owned(), format!("{name}_{field}").into());
        property["x-rust-type"] = serde_json::json!({
            "crate": "std",
            "version": "*",
            "path": "std::option::Option",
            "parameters": [inner],
        });
    }
}

/// Error responses are declared, truthfully, as `application/problem+json`. progenitor only
/// decodes the exact media type `application/json` and would turn them into untyped byte
/// streams (oxidecomputer/progenitor PR #1415 adds `+json` support and is still open), so
/// the copy fed to progenitor names every `…+json` response media type `application/json`.
/// The checked-in document is not changed.
fn treat_json_suffix_as_json(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses"))
        .filter_map(|responses| responses.as_object_mut())
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(content) = response.get_mut("content").and_then(|c| c.as_object_mut()) else {
            continue;
        };
        let suffixed: Vec<String> = content
            .keys()
            .filter(|media| {
                media
                    .split(';')
                    .next()
                    .is_some_and(|m| m.trim().ends_with("+json"))
            })
            .cloned()
            .collect();
        for media in suffixed {
            if let Some(body) = content.remove(&media) {
                content.entry("application/json").or_insert(body);
            }
        }
    }
}
