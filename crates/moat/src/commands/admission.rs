//! `moat admission serve|certs|manifest`: the Kubernetes admission webhook, its certificates and
//! its deployment manifests.

use anyhow::Context;
use clap::{Args, Subcommand};
use moat_admission::certs::{self, CertPaths};
use moat_admission::manifest::{self, ManifestOptions, PolicyFile};
use moat_admission::{Config, ServeOptions};
use moat_artifact::OpenOptions;
use moat_policy::builtin::DigestResolver;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `moat admission`.
#[derive(Debug, Args)]
pub struct AdmissionArgs {
    #[command(subcommand)]
    pub command: AdmissionCommand,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Serve the validating and mutating webhook over HTTPS until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Create a CA and a serving certificate for the webhook's Service.
    Certs(CertsArgs),
    /// Print the Deployment, Service, ConfigMaps and webhook configurations, CA bundle filled in.
    Manifest(ManifestArgs),
}

/// Arguments of `moat admission serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The webhook configuration (YAML or JSON).
    #[arg(short, long)]
    pub config: PathBuf,
    /// Listen here instead of the configuration's address.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Let the resolve-digests mutation reach registries over plain HTTP on loopback.
    #[arg(long)]
    pub insecure_registries: bool,
}

/// Arguments of `moat admission certs`.
#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Where to write ca.crt, ca.key, tls.crt and tls.key.
    #[arg(long)]
    pub dir: PathBuf,
    /// The webhook's Service name.
    #[arg(long, default_value = "moat-admission")]
    pub service: String,
    /// The webhook's namespace.
    #[arg(long, default_value = "moat-system")]
    pub namespace: String,
    /// More names or IP addresses for the serving certificate.
    #[arg(long = "san")]
    pub extra_sans: Vec<String>,
}

/// Arguments of `moat admission manifest`.
#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The directory `moat admission certs` wrote.
    #[arg(long)]
    pub certs: PathBuf,
    /// A webhook configuration whose settings (mode, failure policy, exemptions, timeouts) and
    /// policy files are shipped.
    #[arg(short, long)]
    pub config: Option<PathBuf>,
    /// The container image of the moat binary.
    #[arg(long)]
    pub image: Option<String>,
    /// Namespace of the webhook (must match the certificate's).
    #[arg(long, default_value = "moat-system")]
    pub namespace: String,
    /// Name of the Deployment and Service (must match the certificate's).
    #[arg(long, default_value = "moat-admission")]
    pub name: String,
}

/// Runs `moat admission`.
pub fn run(args: &AdmissionArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    match &args.command {
        AdmissionCommand::Serve(serve) => run_serve(serve),
        AdmissionCommand::Certs(certs) => run_certs(certs, quiet),
        AdmissionCommand::Manifest(manifest) => run_manifest(manifest),
    }
}

/// Resolves tags to digests through the registry client of `moat scan`.
struct RegistryDigests {
    options: OpenOptions,
}

impl DigestResolver for RegistryDigests {
    fn resolve(&self, image: &str) -> Result<String, String> {
        moat_artifact::resolve_digest(image, &self.options).map_err(|err| err.to_string())
    }
}

fn run_serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let resolver = RegistryDigests {
        options: OpenOptions {
            insecure: args.insecure_registries,
            ..OpenOptions::default()
        },
    };
    let options = ServeOptions {
        listen: args.listen,
        digest_resolver: Some(Arc::new(resolver)),
        ..ServeOptions::default()
    };
    moat_admission::serve(config, options)?;
    Ok(ExitCode::SUCCESS)
}

fn run_certs(args: &CertsArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let paths = certs::generate(&args.dir, &args.service, &args.namespace, &args.extra_sans)?;
    if !quiet {
        for path in [&paths.ca_cert, &paths.ca_key, &paths.cert, &paths.key] {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_manifest(args: &ManifestArgs) -> anyhow::Result<ExitCode> {
    let paths = CertPaths::in_dir(&args.certs);
    let mut options = ManifestOptions::from_cert_paths(&paths)?;
    options.namespace = args.namespace.clone();
    options.name = args.name.clone();
    if let Some(image) = &args.image {
        options.image = image.clone();
    }
    if let Some(path) = &args.config {
        let config = Config::load(path)?;
        options.policy_files = policy_files(&config.policies)?;
        options.config = config;
    }
    print!("{}", manifest::render(&options));
    Ok(ExitCode::SUCCESS)
}

/// The policy files a configuration names, found the way the webhook finds them, for the
/// policies ConfigMap (whose keys are file names, so two files of one name are refused).
fn policy_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PolicyFile>> {
    let found = moat_policy::policy_files(paths).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the policy paths cannot be read:\n  {}", lines.join("\n  "))
    })?;
    let mut files: Vec<PolicyFile> = Vec::new();
    for file in found {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if files.iter().any(|f| f.name == name) {
            anyhow::bail!("two policy files are called {name}; a ConfigMap needs unique file names");
        }
        files.push(PolicyFile { name, text });
    }
    Ok(files)
}
