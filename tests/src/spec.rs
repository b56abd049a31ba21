//! [`Spec`]: the operations of an OpenAPI document, as the tests need them.

use reqwest::Method;

/// One operation: how to reach it, what it answers, whether it needs a token.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method: Method,
    /// The path template, such as `/tasks/{task_id}`.
    pub path: String,
    /// Every status the operation declares, success and errors.
    pub statuses: Vec<u16>,
    /// Whether the operation requires credentials (`security: []` says it does not).
    pub secured: bool,
    /// The scopes its security requirement names (`session`: a login session only).
    pub scopes: Vec<String>,
    /// The names of its header parameters (`If-Match`, …).
    pub header_parameters: Vec<String>,
}

/// The operations of a document.
#[derive(Debug, Clone)]
pub struct Spec {
    pub operations: Vec<Operation>,
}

impl Spec {
    /// The contract checked in at the repository root.
    pub fn checked_in() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
        Self::parse(&std::fs::read_to_string(path).expect("read openapi.yaml"))
    }

    /// Reads a document in YAML or JSON (JSON is YAML).
    pub fn parse(document: &str) -> Self {
        let document: serde_yaml::Value = serde_yaml::from_str(document).expect("a document");
        let mut operations = Vec::new();
        for (path, item) in document["paths"].as_mapping().expect("paths") {
            for (method, operation) in item.as_mapping().expect("a path item") {
                let statuses = operation["responses"]
                    .as_mapping()
                    .expect("responses")
                    .keys()
                    .map(|status| status.as_str().expect("a status").parse().expect("numeric"))
                    .collect();
                operations.push(Operation {
                    id: operation["operationId"].as_str().expect("an id").to_owned(),
                    method: method
                        .as_str()
                        .expect("a method")
                        .to_uppercase()
                        .parse()
                        .expect("HTTP"),
                    path: path.as_str().expect("a path").to_owned(),
                    statuses,
                    secured: operation["security"]
                        .as_sequence()
                        .is_some_and(|requirements| !requirements.is_empty()),
                    scopes: (operation["security"].as_sequence().into_iter().flatten())
                        .filter_map(serde_yaml::Value::as_mapping)
                        .flat_map(|requirement| requirement.values())
                        .filter_map(serde_yaml::Value::as_sequence)
                        .flatten()
                        .map(|scope| scope.as_str().expect("a scope name").to_owned())
                        .collect(),
                    header_parameters: operation["parameters"]
                        .as_sequence()
                        .into_iter()
                        .flatten()
                        .filter(|parameter| parameter["in"] == "header")
                        .map(|parameter| parameter["name"].as_str().expect("a name").to_owned())
                        .collect(),
                });
            }
        }
        Self { operations }
    }

    pub fn operation(&self, id: &str) -> &Operation {
        self.operations
            .iter()
            .find(|operation| operation.id == id)
            .unwrap_or_else(|| panic!("no operation {id}"))
    }
}
