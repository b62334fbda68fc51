//! Loading Kubernetes manifests (YAML, multi-document YAML, JSON, `kind: List`) into JSON values,
//! keeping where every field was written so any JSON pointer maps back to a line and column.
//!
//! YAML is read event by event: documents are split at `---` lines first, so a malformed
//! document gives a [`ConfigError`] naming its line while the other documents are still read.
//! Alias expansion, nesting depth and document size are bounded, so hostile input (billion
//! laughs, deep nesting) fails fast instead of exhausting memory.

use crate::ConfigError;
use moat_core::TextLocation;
use saphyr_parser_bw::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Documents larger than this are refused.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;
/// The most nodes one document may hold once aliases are expanded (anchored copies count too).
pub const MAX_NODES: usize = 1_000_000;
/// The deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 128;
/// How much of a file [`looks_like_manifest`] reads.
const SNIFF_BYTES: usize = 8 << 10;

/// A line and column in a file, both 1-based (columns count bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

/// Where one node of a document was written, and where its children were.
#[derive(Debug, Clone, Default)]
struct LocNode {
    /// The key naming the node in its mapping (the node itself for sequence items and roots).
    key: Position,
    /// The node's value.
    value: Position,
    children: LocChildren,
}

#[derive(Debug, Clone, Default)]
enum LocChildren {
    #[default]
    Leaf,
    Map(Vec<(String, LocNode)>),
    Seq(Vec<LocNode>),
}

impl LocNode {
    fn leaf(position: Position) -> LocNode {
        LocNode {
            key: position,
            value: position,
            children: LocChildren::Leaf,
        }
    }

    fn child(&self, token: &str) -> Option<&LocNode> {
        match &self.children {
            LocChildren::Leaf => None,
            LocChildren::Map(entries) => entries
                .iter()
                .rev()
                .find(|(key, _)| key == token)
                .map(|(_, node)| node),
            LocChildren::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
        }
    }
}

/// The positions of every field of one YAML or JSON document.
#[derive(Debug, Clone, Default)]
pub struct LocationIndex {
    root: LocNode,
}

impl LocationIndex {
    /// The node at `pointer`, or its nearest existing ancestor.
    fn nearest(&self, pointer: &str) -> &LocNode {
        let mut node = &self.root;
        for token in pointer_tokens(pointer) {
            match node.child(&token) {
                Some(child) => node = child,
                None => break,
            }
        }
        node
    }

    /// Where the key of the field at `pointer` (or of its nearest existing ancestor) is.
    pub fn key_position(&self, pointer: &str) -> Position {
        self.nearest(pointer).key
    }

    /// Where the value of the field at `pointer` (or of its nearest existing ancestor) starts.
    pub fn value_position(&self, pointer: &str) -> Position {
        self.nearest(pointer).value
    }
}

/// Splits a JSON pointer into its unescaped tokens (`/a~1b/0` → `a/b`, `0`).
pub fn pointer_tokens(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
}

/// Escapes one JSON pointer token.
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Kinds that are not namespaced.
const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// One Kubernetes object read from a manifest file, with the positions of its fields.
///
/// Objects inside a `List` are resources of their own; their pointers are relative to the
/// object, and [`Resource::location`] maps them to the right place inside the list.
#[derive(Debug, Clone)]
pub struct Resource {
    /// `apiVersion` (`apps/v1`); for items of a typed list without one, the list's.
    pub api_version: String,
    /// `kind` (`Deployment`).
    pub kind: String,
    /// `metadata.name` (or `metadata.generateName`), empty when neither is set.
    pub name: String,
    /// `metadata.namespace`, when set.
    pub namespace: Option<String>,
    /// The whole object.
    pub value: Value,
    /// The file it was read from, as given to [`load`].
    pub path: String,
    index: Arc<LocationIndex>,
    base: String,
}

impl Resource {
    /// The namespace the object lands in: its own, or `default`.
    pub fn namespace_or_default(&self) -> &str {
        self.namespace.as_deref().unwrap_or("default")
    }

    /// Whether the kind is one Kubernetes does not namespace (ClusterRole, Namespace, …).
    pub fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED_KINDS.contains(&self.kind.as_str())
    }

    /// The API group of `apiVersion` (`apps`, or empty for the core group).
    pub fn api_group(&self) -> &str {
        match self.api_version.rsplit_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    /// How findings name the object: `Kind namespace/name`, or `Kind name` when cluster-scoped.
    pub fn display_name(&self) -> String {
        if self.is_cluster_scoped() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace_or_default(), self.name)
        }
    }

    /// The value at a JSON pointer relative to the object (`/spec/replicas`).
    pub fn get(&self, pointer: &str) -> Option<&Value> {
        self.value.pointer(pointer)
    }

    /// Where the key of the field at `pointer` (relative to the object) is written, falling
    /// back to the nearest existing ancestor; `""` is the object itself.
    pub fn location(&self, pointer: &str) -> TextLocation {
        self.text_location(self.index.key_position(&self.absolute(pointer)))
    }

    /// Where the value of the field at `pointer` starts, with the same fallback.
    pub fn value_location(&self, pointer: &str) -> TextLocation {
        self.text_location(self.index.value_position(&self.absolute(pointer)))
    }

    /// The line the object starts on.
    pub fn line(&self) -> u32 {
        self.index.value_position(&self.base).line
    }

    fn absolute(&self, pointer: &str) -> String {
        format!("{}{}", self.base, pointer)
    }

    fn text_location(&self, position: Position) -> TextLocation {
        TextLocation::at(self.path.clone(), position.line, position.column)
    }
}

/// Whether a file looks like a Kubernetes manifest: a `.yaml`, `.yml` or `.json` name whose first
/// few KiB hold both an `apiVersion` and a `kind` key. Helm templates (`{{`) are left alone.
pub fn looks_like_manifest(name: &str, head: &[u8]) -> bool {
    let lower = name.to_ascii_lowercase();
    if !(lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")) {
        return false;
    }
    let head = String::from_utf8_lossy(&head[..head.len().min(SNIFF_BYTES)]);
    !head.contains("{{") && has_key(&head, "apiVersion") && has_key(&head, "kind")
}

/// Whether `key` appears as a mapping key (`key:` or `"key":`).
fn has_key(text: &str, key: &str) -> bool {
    text.match_indices(key).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let starts_token = matches!(
            before,
            None | Some(' ' | '\t' | '\n' | '\r' | '"' | '\'' | '{' | ',')
        );
        let after = text[at + key.len()..].trim_start_matches(['"', '\'']);
        starts_token && after.trim_start_matches([' ', '\t']).starts_with(':')
    })
}

/// Reads every Kubernetes object in one manifest file. Documents that are not Kubernetes objects
/// (no `apiVersion` and `kind`) are skipped; documents that cannot be read give errors naming
/// the file and line, and the others are still returned.
pub fn load(path: &str, text: &str) -> (Vec<Resource>, Vec<ConfigError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (documents, errors) = if looks_like_json(text) {
        read_json(path, text)
    } else {
        read_yaml(path, text)
    };
    let mut resources = Vec::new();
    for document in documents {
        collect_resources(path, document, &mut resources);
    }
    (resources, errors)
}

/// One parsed document and the positions of its fields.
struct Document {
    value: Value,
    index: LocationIndex,
}

fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with(['{', '['])
}

/// JSON is YAML, so the YAML reader gives the positions; when it balks at valid JSON, the value is
/// still read (positions then fall back to the document's first line).
fn read_json(path: &str, text: &str) -> (Vec<Document>, Vec<ConfigError>) {
    let (documents, errors) = read_yaml(path, text);
    if errors.is_empty() {
        return (documents, errors);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let first_line = text.lines().take_while(|l| l.trim().is_empty()).count() as u32 + 1;
            let start = Position {
                line: first_line,
                column: 1,
            };
            let index = LocationIndex {
                root: LocNode::leaf(start),
            };
            (vec![Document { value, index }], Vec::new())
        }
        Err(error) => {
            let message = format!("invalid JSON: {error}");
            (
                Vec::new(),
                vec![ConfigError::new(path, error.line() as u32, message)],
            )
        }
    }
}

fn read_yaml(path: &str, text: &str) -> (Vec<Document>, Vec<ConfigError>) {
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for chunk in split_documents(text) {
        if chunk.text.len() > MAX_DOCUMENT_BYTES {
            let message = format!("document larger than {} MiB, not read", MAX_DOCUMENT_BYTES >> 20);
            errors.push(ConfigError::new(path, chunk.first_line, message));
            continue;
        }
        let mut builder = Builder::new(chunk.first_line);
        if let Err(error) = builder.run(chunk.text) {
            errors.push(ConfigError::new(path, error.line, error.message));
        }
        documents.append(&mut builder.documents);
    }
    (documents, errors)
}

/// A run of lines holding one or more YAML documents.
struct Chunk<'a> {
    text: &'a str,
    first_line: u32,
}

/// Cuts a stream at its `---` lines, so one bad document cannot hide the next. Comments,
/// directives and blank lines before a marker stay with the document that follows.
fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut has_content = false;
    let mut offset = 0usize;
    for (number, line) in (1u32..).zip(text.split_inclusive('\n')) {
        if is_document_marker(line) && has_content {
            chunks.push(Chunk {
                text: &text[start..offset],
                first_line: start_line,
            });
            start = offset;
            start_line = number;
            has_content = false;
        }
        has_content |= is_content(line);
        offset += line.len();
    }
    if start < text.len() || chunks.is_empty() {
        chunks.push(Chunk {
            text: &text[start..],
            first_line: start_line,
        });
    }
    chunks
}

fn is_document_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn is_content(line: &str) -> bool {
    let trimmed = line.trim();
    !(trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('%') || trimmed == "...")
}

/// Turns each document (or each item of a list document) that is a Kubernetes object into a
/// [`Resource`].
fn collect_resources(path: &str, document: Document, out: &mut Vec<Resource>) {
    let Value::Object(mut object) = document.value else {
        return;
    };
    let (Some(api_version), Some(kind)) =
        (string_field(&object, "apiVersion"), string_field(&object, "kind"))
    else {
        return;
    };
    let index = Arc::new(document.index);
    let is_list = kind.ends_with("List") && object.get("items").is_some_and(Value::is_array);
    if !is_list {
        out.push(resource(
            path,
            api_version,
            kind,
            Value::Object(object),
            &index,
            String::new(),
        ));
        return;
    }
    let Some(Value::Array(items)) = object.remove("items") else {
        return;
    };
    let item_kind = kind
        .strip_suffix("List")
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    for (position, item) in items.into_iter().enumerate() {
        let Value::Object(fields) = &item else {
            continue;
        };
        let Some(kind) = string_field(fields, "kind").or_else(|| item_kind.clone()) else {
            continue;
        };
        let api_version = string_field(fields, "apiVersion").unwrap_or_else(|| api_version.clone());
        let base = format!("/items/{position}");
        out.push(resource(path, api_version, kind, item, &index, base));
    }
}

fn string_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_string)
}

fn resource(
    path: &str,
    api_version: String,
    kind: String,
    value: Value,
    index: &Arc<LocationIndex>,
    base: String,
) -> Resource {
    let metadata = value.get("metadata");
    let text_at = |key: &str| metadata.and_then(|m| m.get(key)).and_then(Value::as_str);
    let name = text_at("name")
        .or_else(|| text_at("generateName"))
        .unwrap_or("")
        .to_string();
    let namespace = text_at("namespace")
        .filter(|ns| !ns.is_empty())
        .map(str::to_string);
    Resource {
        api_version,
        kind,
        name,
        namespace,
        value,
        path: path.to_string(),
        index: Arc::clone(index),
        base,
    }
}

/// Why a chunk stopped being read.
#[derive(Debug)]
struct ReadError {
    line: u32,
    message: String,
}

/// A mapping or sequence being built.
enum Container {
    Map {
        map: Map<String, Value>,
        locs: Vec<(String, LocNode)>,
        pending_key: Option<PendingKey>,
        merges: Vec<(Value, Position)>,
    },
    Seq {
        items: Vec<Value>,
        locs: Vec<LocNode>,
    },
}

struct PendingKey {
    key: String,
    position: Position,
    is_merge: bool,
}

struct Frame {
    container: Container,
    anchor: usize,
    start: Position,
    nodes_before: usize,
}

/// A finished node: its value, its positions and how many nodes it holds.
struct Node {
    value: Value,
    loc: LocNode,
    nodes: usize,
    /// The text of a plain scalar (for keys).
    key_text: Option<(String, bool)>,
}

/// Builds JSON values and position trees from parser events.
struct Builder {
    line_offset: u32,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    stored_nodes: usize,
    documents: Vec<Document>,
}

impl Builder {
    fn new(first_line: u32) -> Builder {
        Builder {
            line_offset: first_line.saturating_sub(1),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes: 0,
            stored_nodes: 0,
            documents: Vec::new(),
        }
    }

    fn run(&mut self, text: &str) -> Result<(), ReadError> {
        let mut parser = Parser::new_from_str(text);
        while let Some(event) = parser.next_event() {
            let (event, span) = event.map_err(|e| self.scan_error(&e))?;
            self.on_event(event, span)?;
        }
        Ok(())
    }

    fn position(&self, span: &Span) -> Position {
        Position {
            line: (span.start.line() as u32).saturating_add(self.line_offset).max(1),
            column: span.start.col() as u32 + 1,
        }
    }

    fn scan_error(&self, error: &ScanError) -> ReadError {
        ReadError {
            line: (error.marker().line() as u32)
                .saturating_add(self.line_offset)
                .max(1),
            message: format!("invalid YAML: {}", error.info()),
        }
    }

    fn fail(&self, span: &Span, message: &str) -> ReadError {
        ReadError {
            line: self.position(span).line,
            message: message.to_string(),
        }
    }

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), ReadError> {
        match event {
            Event::DocumentStart(_) => {
                self.stack.clear();
                self.anchors.clear();
                self.nodes = 0;
                self.stored_nodes = 0;
                Ok(())
            }
            Event::Scalar(text, style, anchor, tag) => {
                let position = self.position(&span);
                self.count(1, &span)?;
                let is_plain = style == ScalarStyle::Plain && tag.is_none();
                let node = Node {
                    value: resolve_scalar(&text, style, tag.as_deref()),
                    loc: LocNode::leaf(position),
                    nodes: 1,
                    key_text: Some((text.into_owned(), is_plain)),
                };
                self.finish(node, anchor, &span)
            }
            Event::Alias(anchor) => self.alias(anchor, &span),
            Event::MappingStart(anchor, _) => self.open(Self::empty_map(), anchor, &span),
            Event::SequenceStart(anchor, _) => self.open(
                Container::Seq {
                    items: Vec::new(),
                    locs: Vec::new(),
                },
                anchor,
                &span,
            ),
            Event::MappingEnd | Event::SequenceEnd => self.close(&span),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
        }
    }

    fn empty_map() -> Container {
        Container::Map {
            map: Map::new(),
            locs: Vec::new(),
            pending_key: None,
            merges: Vec::new(),
        }
    }

    fn count(&mut self, nodes: usize, span: &Span) -> Result<(), ReadError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(self.fail(
                span,
                &format!("document has more than {MAX_NODES} nodes (alias expansion?), not read"),
            ));
        }
        Ok(())
    }

    fn open(&mut self, container: Container, anchor: usize, span: &Span) -> Result<(), ReadError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.fail(span, &format!("nesting deeper than {MAX_DEPTH} levels, not read")));
        }
        let nodes_before = self.nodes;
        self.count(1, span)?;
        let start = self.position(span);
        self.stack.push(Frame {
            container,
            anchor,
            start,
            nodes_before,
        });
        Ok(())
    }

    fn close(&mut self, span: &Span) -> Result<(), ReadError> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.fail(span, "unbalanced YAML structure"));
        };
        let nodes = self.nodes - frame.nodes_before;
        let (value, children) = match frame.container {
            Container::Map {
                mut map,
                mut locs,
                merges,
                ..
            } => {
                apply_merges(&mut map, &mut locs, merges);
                (Value::Object(map), LocChildren::Map(locs))
            }
            Container::Seq { items, locs } => (Value::Array(items), LocChildren::Seq(locs)),
        };
        let loc = LocNode {
            key: frame.start,
            value: frame.start,
            children,
        };
        let node = Node {
            value,
            loc,
            nodes,
            key_text: None,
        };
        self.finish(node, frame.anchor, span)
    }

    fn alias(&mut self, anchor: usize, span: &Span) -> Result<(), ReadError> {
        let (value, nodes) = match self.anchors.get(&anchor) {
            Some((value, nodes)) => (Some(value), *nodes),
            None => (None, 1),
        };
        let new_total = self.nodes.saturating_add(nodes);
        if new_total > MAX_NODES {
            return Err(self.fail(
                span,
                &format!("document has more than {MAX_NODES} nodes (alias expansion?), not read"),
            ));
        }
        let value = value.cloned().unwrap_or(Value::Null);
        self.nodes = new_total;
        let node = Node {
            value,
            loc: LocNode::leaf(self.position(span)),
            nodes,
            key_text: None,
        };
        self.finish(node, 0, span)
    }

    /// Stores a finished node under its anchor, then hands it to its parent.
    fn finish(&mut self, node: Node, anchor: usize, span: &Span) -> Result<(), ReadError> {
        if anchor != 0 {
            self.stored_nodes = self.stored_nodes.saturating_add(node.nodes);
            if self.stored_nodes > MAX_NODES {
                return Err(self.fail(
                    span,
                    &format!("anchors hold more than {MAX_NODES} nodes, not read"),
                ));
            }
            self.anchors.insert(anchor, (node.value.clone(), node.nodes));
        }
        match self.stack.last_mut() {
            None => {
                self.documents.push(Document {
                    value: node.value,
                    index: LocationIndex { root: node.loc },
                });
                Ok(())
            }
            Some(frame) => {
                attach(&mut frame.container, node);
                Ok(())
            }
        }
    }
}

/// Adds a finished node to its parent: as a key, a value or a sequence item.
fn attach(container: &mut Container, node: Node) {
    match container {
        Container::Seq { items, locs } => {
            items.push(node.value);
            locs.push(node.loc);
        }
        Container::Map {
            map,
            locs,
            pending_key,
            merges,
        } => match pending_key.take() {
            None => *pending_key = Some(key_of(node)),
            Some(key) if key.is_merge && is_mergeable(&node.value) => {
                let position = key.position;
                match node.value {
                    Value::Array(values) => merges.extend(values.into_iter().map(|v| (v, position))),
                    value => merges.push((value, position)),
                }
            }
            Some(key) => {
                let mut loc = node.loc;
                loc.key = key.position;
                map.insert(key.key.clone(), node.value);
                locs.push((key.key, loc));
            }
        },
    }
}

fn key_of(node: Node) -> PendingKey {
    let position = node.loc.key;
    match node.key_text {
        Some((text, is_plain)) => PendingKey {
            is_merge: is_plain && text == "<<",
            key: text,
            position,
        },
        None => PendingKey {
            key: match node.value {
                Value::String(text) => text,
                other => other.to_string(),
            },
            position,
            is_merge: false,
        },
    }
}

fn is_mergeable(value: &Value) -> bool {
    match value {
        Value::Object(_) => true,
        Value::Array(items) => items.iter().all(Value::is_object),
        _ => false,
    }
}

/// `<<: *base` merges: keys written in the mapping win; earlier merged mappings win over later.
fn apply_merges(
    map: &mut Map<String, Value>,
    locs: &mut Vec<(String, LocNode)>,
    merges: Vec<(Value, Position)>,
) {
    for (merged, position) in merges {
        let Value::Object(fields) = merged else {
            continue;
        };
        for (key, value) in fields {
            if !map.contains_key(&key) {
                map.insert(key.clone(), value);
                locs.push((key, LocNode::leaf(position)));
            }
        }
    }
}

/// Resolves a scalar the way Kubernetes' YAML reader does (YAML 1.1 booleans, octal, …).
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let core_tag = tag.filter(|t| t.is_yaml_core_schema()).map(|t| t.suffix.as_str());
    match core_tag {
        Some("str") | Some("binary") | Some("timestamp") => return Value::String(text.to_string()),
        Some("null") => return Value::Null,
        Some("bool") => {
            return resolve_bool(text).map_or_else(|| Value::String(text.to_string()), Value::Bool)
        }
        Some("int") | Some("float") => {
            return resolve_number(text).unwrap_or_else(|| Value::String(text.to_string()))
        }
        _ => {}
    }
    if style != ScalarStyle::Plain || tag.is_some_and(|t| !t.is_yaml_core_schema()) {
        return Value::String(text.to_string());
    }
    resolve_plain(text)
}

fn resolve_plain(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(flag) = resolve_bool(text) {
        return Value::Bool(flag);
    }
    resolve_number(text).unwrap_or_else(|| Value::String(text.to_string()))
}

fn resolve_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => Some(false),
        _ => None,
    }
}

fn resolve_number(text: &str) -> Option<Value> {
    resolve_integer(text).or_else(|| resolve_float(text))
}

fn resolve_integer(text: &str) -> Option<Value> {
    let cleaned = text.replace('_', "");
    let (negative, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    if digits.is_empty() || text.starts_with('_') {
        return None;
    }
    let (radix, body) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(binary) = digits.strip_prefix("0b") {
        (2, binary)
    } else if let Some(octal) = digits.strip_prefix("0o") {
        (8, octal)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if !negative {
        return Some(Value::Number(Number::from(magnitude)));
    }
    let signed = i64::try_from(magnitude)
        .ok()
        .map(|m| -m)
        .or((magnitude == 1u64 << 63).then_some(i64::MIN))?;
    Some(Value::Number(Number::from(signed)))
}

fn resolve_float(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let mut saw_digit = false;
    let mut saw_exponent = false;
    for (i, c) in body.char_indices() {
        match c {
            '0'..='9' => saw_digit = true,
            '.' | '_' if !saw_exponent => {}
            'e' | 'E' if saw_digit && !saw_exponent => saw_exponent = true,
            '+' | '-' if saw_exponent && matches!(body[..i].chars().next_back(), Some('e' | 'E')) => {}
            _ => return None,
        }
    }
    if !saw_digit {
        return None;
    }
    let number: f64 = text.replace('_', "").parse().ok()?;
    Number::from_f64(number).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Resource {
        let (mut resources, errors) = load("m.yaml", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(resources.len(), 1);
        resources.remove(0)
    }

    #[test]
    fn scalars_resolve_like_kubernetes_does() {
        assert_eq!(resolve_plain("80"), Value::from(80));
        assert_eq!(resolve_plain("-3"), Value::from(-3));
        assert_eq!(resolve_plain("0755"), Value::from(493));
        assert_eq!(resolve_plain("0x1F"), Value::from(31));
        assert_eq!(resolve_plain("1.5"), Value::from(1.5));
        assert_eq!(resolve_plain("1e3"), Value::from(1000.0));
        assert_eq!(resolve_plain("yes"), Value::Bool(true));
        assert_eq!(resolve_plain("Off"), Value::Bool(false));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("1.2.3"), Value::from("1.2.3"));
        assert_eq!(resolve_plain("inf"), Value::from("inf"));
        assert_eq!(resolve_plain("e5"), Value::from("e5"));
        assert_eq!(resolve_plain("-"), Value::from("-"));
        assert_eq!(
            resolve_scalar("80", ScalarStyle::DoubleQuoted, None),
            Value::from("80")
        );
    }

    #[test]
    fn pointers_map_to_keys_and_fall_back_to_ancestors() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: a\n    image: \"nginx\"\n";
        let pod = one(text);
        assert_eq!(pod.location("/spec/containers/0/image").start_line, 8);
        assert_eq!(pod.location("/spec/containers/0/image").start_column, 5);
        assert_eq!(pod.value_location("/spec/containers/0/image").start_column, 12);
        assert_eq!(pod.location("/spec/containers/0/resources/limits").start_line, 7);
        assert_eq!(pod.location("/spec/nothing").start_line, 5);
        assert_eq!(pod.location("").start_line, 1);
        assert_eq!(pod.display_name(), "Pod default/p");
    }

    #[test]
    fn merge_keys_and_aliases_expand() {
        let text =
            "apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\ndata:\n  <<: {a: '1'}\n  b: *m\n";
        let map = one(text);
        assert_eq!(map.get("/data/a"), Some(&Value::from("1")));
        assert_eq!(map.get("/data/b/name"), Some(&Value::from("x")));
        assert_eq!(map.location("/data/a").start_line, 6);
    }

    #[test]
    fn document_markers_split_but_comments_stay_with_the_next_document() {
        let chunks = split_documents("# c\n%YAML 1.2\n---\na: 1\n---\nb: 2\n--- |\n x\n");
        let starts: Vec<u32> = chunks.iter().map(|c| c.first_line).collect();
        assert_eq!(starts, vec![1, 5, 7]);
    }

    #[test]
    fn sniffing_needs_both_keys_and_no_templates() {
        assert!(looks_like_manifest("a.yaml", b"apiVersion: v1\nkind: Pod\n"));
        assert!(looks_like_manifest(
            "a.JSON",
            b"{\"apiVersion\": \"v1\", \"kind\": \"Pod\"}"
        ));
        assert!(!looks_like_manifest(
            "a.yaml",
            b"apiVersion: v1\nkind: {{ .Values.kind }}\n"
        ));
        assert!(!looks_like_manifest("a.txt", b"apiVersion: v1\nkind: Pod\n"));
        assert!(!looks_like_manifest("a.yaml", b"name: apiVersion kind\n"));
    }
}
