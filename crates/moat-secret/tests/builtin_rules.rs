//! Moat's builtin rules on secrets shaped like the ones planted in the debian-app test image
//! (built here from a seeded generator, never read from the image), and on look-alikes that
//! are not secrets.

use moat_core::{SecretFinding, Severity};
use moat_secret::RuleSet;

/// A deterministic generator of fake key material.
struct Fake(u64);

impl Fake {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn string(&mut self, alphabet: &str, len: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..len)
            .map(|_| chars[(self.next() % chars.len() as u64) as usize])
            .collect()
    }
}

const BASE32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn only<'a>(findings: &'a [SecretFinding], rule: &str) -> &'a SecretFinding {
    let matching: Vec<&SecretFinding> = findings.iter().filter(|f| f.rule_id == rule).collect();
    assert_eq!(matching.len(), 1, "{rule}: {findings:#?}");
    matching[0]
}

#[test]
fn dotenv_aws_keys_at_lines_4_and_5_but_not_the_passwordless_database_url() {
    let mut fake = Fake(1);
    let key_id = format!("AKIA{}", fake.string(BASE32, 16));
    let secret = fake.string(BASE64, 40);
    let env = format!(
        "# application settings\nAPP_ENV=production\nDATABASE_URL=postgres://app@db.internal:5432/app\n\
         AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\nAWS_REGION=eu-west-1\n"
    );
    let findings = RuleSet::builtin().scan_bytes("/app/.env", env.as_bytes());
    let id = only(&findings, "aws-access-token");
    assert_eq!(
        (
            id.secret.as_str(),
            id.location.start_line,
            id.location.start_column
        ),
        (key_id.as_str(), 4, 19)
    );
    assert_eq!(id.location.end_column, 39);
    assert_eq!(id.severity, Severity::Critical);
    assert_eq!(id.line, format!("AWS_ACCESS_KEY_ID={key_id}"));
    let key = only(&findings, "aws-secret-access-key");
    assert_eq!(
        (key.secret.as_str(), key.location.start_line),
        (secret.as_str(), 5)
    );
    assert!(key.entropy.is_some_and(|e| e > 3.5));
    assert!(
        findings.iter().all(|f| f.location.start_line != 3),
        "{findings:#?}"
    );
    assert_eq!(findings.len(), 2, "{findings:#?}");
}

#[test]
fn yaml_github_token_and_slack_webhook_but_not_a_password_variable_name() {
    let mut fake = Fake(2);
    let token = format!("ghp_{}", fake.string(ALNUM, 36));
    let hook = format!(
        "https://hooks.slack.com/services/T{}/B{}/{}",
        fake.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 8),
        fake.string("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
        fake.string(ALNUM, 24)
    );
    assert_eq!(hook.len(), 79);
    let yaml = format!(
        "app:\n  name: demo\n  port: 8080\n\nintegrations:\n  github:\n    org: example\n    token: {token}\n\
         notifications:\n  slack:\n    channel: '#ops'\n    webhook_url: {hook}\n\ndatabase:\n  user: app\n  \
         password_from_env: DB_PASSWORD\n"
    );
    let findings = RuleSet::builtin().scan_bytes("/app/config.yml", yaml.as_bytes());
    let github = only(&findings, "github-pat");
    assert_eq!(
        (
            github.secret.as_str(),
            github.location.start_line,
            github.location.start_column
        ),
        (token.as_str(), 8, 12)
    );
    let slack = only(&findings, "slack-webhook-url");
    assert_eq!(
        (slack.secret.as_str(), slack.location.start_line),
        (hook.as_str(), 12)
    );
    assert_eq!(findings.len(), 2, "{findings:#?}");
}

#[test]
fn rsa_pem_key_is_one_finding_from_line_1_to_its_end_line() {
    let mut fake = Fake(3);
    let mut pem = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    for _ in 0..25 {
        pem.push_str(&fake.string(BASE64, 64));
        pem.push('\n');
    }
    pem.push_str("-----END RSA PRIVATE KEY-----\n");
    let findings = RuleSet::builtin().scan_bytes("/root/.ssh/id_rsa", pem.as_bytes());
    let key = only(&findings, "private-key");
    assert_eq!((key.location.start_line, key.location.start_column), (1, 1));
    assert_eq!(key.location.end_line, 27);
    assert_eq!(key.secret, pem.trim_end());
    assert_eq!(key.line, "-----BEGIN RSA PRIVATE KEY-----");
    assert_eq!(key.severity, Severity::Critical);
    assert_eq!(findings.len(), 1, "{findings:#?}");
}

#[test]
fn password_assignments_with_values_are_found() {
    let rules = RuleSet::builtin();
    let findings = rules.scan_bytes("<image config>", b"PATH=/usr/bin\nDB_PASSWORD=hunter2-not-real\n");
    let found = only(&findings, "generic-password");
    assert_eq!(
        (found.secret.as_str(), found.location.start_line),
        ("hunter2-not-real", 2)
    );
    assert_eq!(found.severity, Severity::Medium);
    for text in [
        "api_key: \"9f8e7d6c5b4a3210fedcba98\"\n",
        "client_secret = 'Xk29-pQ7z!mR4w'\n",
        "  \"password\": \"Tr0ub4dor&3x\",\n",
    ] {
        let findings = rules.scan_bytes("settings.txt", text.as_bytes());
        assert_eq!(findings.len(), 1, "{text}: {findings:#?}");
    }
}

#[test]
fn names_placeholders_and_references_are_not_secrets() {
    let rules = RuleSet::builtin();
    for text in [
        "password_from_env: DB_PASSWORD\n",
        "password: ${DB_PASSWORD}\n",
        "password = \"<password>\"\n",
        "secret: changeme\n",
        "token: xxxxxxxx\n",
        "api_key = os.getenv(\"API_KEY\")\n",
        "password = request.form['password']\n",
        "password: {{ .Values.password }}\n",
        "if password == \"abc123\":\n",
        "password_file: /run/secrets/db_password\n",
        "secret = 'notHighEnoughEntropy'\n",
        "DATABASE_URL=postgres://app@db.internal:5432/app\n",
        "url = postgres://user:${DB_PASS}@db:5432/app\n",
        "token: 'this is a sentence, not a token'\n",
    ] {
        let findings = rules.scan_bytes("app.conf", text.as_bytes());
        assert!(findings.is_empty(), "{text}: {findings:#?}");
    }
}

#[test]
fn urls_with_passwords_report_the_password() {
    let rules = RuleSet::builtin();
    let text = "db = postgresql://app:Q7v9xW2mK4pL@db.internal:5432/app\nmirror = https://deploy:pZ8rT1vB6nY3@git.example.com/repo.git\n";
    let findings = rules.scan_bytes("app.ini", text.as_bytes());
    let db = only(&findings, "database-connection-string");
    assert_eq!(
        (
            db.secret.as_str(),
            db.location.start_line,
            db.location.start_column
        ),
        ("Q7v9xW2mK4pL", 1, 23)
    );
    let web = only(&findings, "url-basic-auth");
    assert_eq!(
        (web.secret.as_str(), web.location.start_line),
        ("pZ8rT1vB6nY3", 2)
    );
}

#[test]
fn many_token_shapes_are_recognised() {
    let mut fake = Fake(4);
    let cases = [
        ("gitlab-pat", format!("glpat-{}", fake.string(ALNUM, 20))),
        ("npm-access-token", format!("npm_{}", fake.string(ALNUM, 36))),
        (
            "pypi-upload-token",
            format!("pypi-AgEIcHlwaS5vcmc{}", fake.string(ALNUM, 60)),
        ),
        ("dockerhub-pat", format!("dckr_pat_{}", fake.string(ALNUM, 27))),
        (
            "slack-bot-token",
            format!(
                "xoxb-{}-{}-{}",
                fake.string("0123456789", 12),
                fake.string("0123456789", 13),
                fake.string(ALNUM, 24)
            ),
        ),
        (
            "stripe-access-token",
            format!("sk_live_{}", fake.string(ALNUM, 24)),
        ),
        ("gcp-api-key", format!("AIza{}", fake.string(ALNUM, 35))),
        (
            "sendgrid-api-token",
            format!("SG.{}.{}", fake.string(ALNUM, 22), fake.string(ALNUM, 43)),
        ),
        (
            "shopify-access-token",
            format!("shpat_{}", fake.string("0123456789abcdef", 32)),
        ),
        (
            "jwt",
            format!(
                "eyJ{}.eyJ{}.{}",
                fake.string(ALNUM, 20),
                fake.string(ALNUM, 40),
                fake.string(ALNUM, 43)
            ),
        ),
        (
            "azure-storage-account-key",
            format!(
                "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={}==",
                fake.string(BASE64, 86)
            ),
        ),
    ];
    let rules = RuleSet::builtin();
    for (rule, secret) in cases {
        let text = format!("value: {secret}\n");
        let findings = rules.scan_bytes("x.yaml", text.as_bytes());
        assert!(
            findings
                .iter()
                .any(|f| f.rule_id == rule && secret.contains(&f.secret)),
            "{rule} did not find {secret}: {findings:#?}"
        );
    }
}

#[test]
fn inline_allow_markers_silence_a_line() {
    let mut fake = Fake(5);
    let token = format!("ghp_{}", fake.string(ALNUM, 36));
    let text = format!("a: {token} # gitleaks:allow\nb: {token}  # pragma: allowlist secret\nc: {token}\n");
    let findings = RuleSet::builtin().scan_bytes("x.yaml", text.as_bytes());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].location.start_line, 3);
}

#[test]
fn rule_list_describes_each_rule() {
    let rules = RuleSet::builtin();
    assert!(rules.len() >= 60 && !rules.is_empty());
    let with_entropy = RuleSet::builtin().with_entropy_detectors();
    assert_eq!(with_entropy.len(), rules.len() + 2);
    let ids: Vec<&str> = with_entropy.rules().map(|r| r.id.as_str()).collect();
    assert!(ids.contains(&"high-entropy-base64") && ids.contains(&"high-entropy-hex"));
    let aws = rules.rules().find(|r| r.id == "aws-access-token").unwrap();
    assert_eq!(aws.severity, Severity::Critical);
    assert!(aws.keywords.contains(&"akia".to_string()));
}

#[test]
fn key_store_files_are_found_by_name_even_when_binary() {
    let rules = RuleSet::builtin();
    let binary = [0u8, 1, 2, 3, 0, 0, 0x30, 0x82];
    let found = rules.scan_reader("/srv/tls/server.P12", &binary[..]).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule_id, "pkcs12-file");
    assert_eq!(found[0].location.start_line, 0);
    assert_eq!(
        rules.scan_name("/opt/app/keys.jks")[0].rule_id,
        "java-keystore-file"
    );
    assert!(rules.scan_name("/opt/app/notes.p12.txt").is_empty());
}
