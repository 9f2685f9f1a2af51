using System.Diagnostics;
using Ingest.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Ingest.Tests.Deploy;

/// <summary>
/// No Docker engine or Kubernetes cluster runs here, so the deployment files are checked the closest
/// real way: Debian's docker-compose normalizes the compose file (and fails on any error), kubectl
/// builds the Kubernetes kustomization client-side, and the results carry what an operator relies on.
/// </summary>
public sealed class DeployManifestTests
{
    [Fact]
    public void the_compose_file_is_valid_and_runs_redis_kafka_three_silos_with_a_volume_each_two_frontends_and_a_load_balancer()
    {
        var yaml = Run("docker-compose", "-f", Path.Combine(Repo.Root, "deploy", "docker-compose.yml"), "config");
        var services = (YamlMappingNode)Load(yaml)[0]["services"];

        Assert.Equal(["api-1", "api-2", "kafka", "lb", "redis", "silo-1", "silo-2", "silo-3"], services.Children.Keys.Select(k => k.ToString()).Order());
        Assert.Equal("broker,controller", Scalar(services["kafka"], "environment", "KAFKA_PROCESS_ROLES")); // KRaft, no ZooKeeper
        var volumes = new HashSet<string>();
        foreach (var silo in new[] { "silo-1", "silo-2", "silo-3" })
        {
            Assert.Equal("redis:6379", Scalar(services[silo], "environment", "Cluster__Redis"));
            Assert.Equal("kafka:9092", Scalar(services[silo], "environment", "Kafka__BootstrapServers"));
            Assert.True(((YamlMappingNode)services[silo]["environment"]).Children.ContainsKey("Admin__Key"), $"{silo} takes the admin key from INGEST_ADMIN_KEY");
            var volume = ((YamlSequenceNode)services[silo]["volumes"]).Children.Single();
            var text = volume is YamlMappingNode map ? $"{map["source"]}:{map["target"]}" : volume.ToString();
            Assert.Matches("^silo-[123]-data:/data(:rw)?$", text);
            volumes.Add(text);
        }

        Assert.Equal(3, volumes.Count); // one data volume per silo, never shared
        Assert.Equal("redis:6379", Scalar(services["api-1"], "environment", "Cluster__Redis"));
        Assert.True(((YamlMappingNode)services["api-1"]["environment"]).Children.ContainsKey("Admin__Key"), "the Api takes the admin key from INGEST_ADMIN_KEY");
        Assert.Equal("8080", Scalar(((YamlSequenceNode)services["lb"]["ports"]).Children.Single(), "published"));
    }

    [Fact]
    public void the_kubernetes_manifests_build_and_run_silos_as_a_statefulset_with_a_volume_claim_and_probes_on_healthz_and_readyz()
    {
        var documents = Load(Run("kubectl", "kustomize", Path.Combine(Repo.Root, "deploy", "k8s")));
        YamlMappingNode Find(string kind, string name) =>
            documents.Single(d => d["kind"].ToString() == kind && d["metadata"]["name"].ToString() == name);

        var silo = Find("StatefulSet", "ingest-silo");
        var claim = ((YamlSequenceNode)silo["spec"]["volumeClaimTemplates"]).Children.Single();
        Assert.Equal("data", claim["metadata"]["name"].ToString());
        var siloPod = silo["spec"]["template"];
        Assert.Equal("ingest", siloPod["metadata"]["labels"]["orleans/clusterId"].ToString());
        var siloContainer = ((YamlSequenceNode)siloPod["spec"]["containers"]).Children.Single();
        Assert.Equal("/healthz", siloContainer["livenessProbe"]["httpGet"]["path"].ToString());
        Assert.Equal("/readyz", siloContainer["readinessProbe"]["httpGet"]["path"].ToString());
        Assert.Equal("/data", ((YamlSequenceNode)siloContainer["volumeMounts"]).Children.Single()["mountPath"].ToString());
        Assert.Contains(((YamlSequenceNode)siloContainer["envFrom"]).Children, e => e is YamlMappingNode m && m.Children.ContainsKey("secretRef") && m["secretRef"]["name"].ToString() == "ingest-admin");
        Assert.Equal("status.podIP", siloContainer["env"][0]["valueFrom"]["fieldRef"]["fieldPath"].ToString());

        var api = Find("Deployment", "ingest-api");
        var apiContainer = ((YamlSequenceNode)api["spec"]["template"]["spec"]["containers"]).Children.Single();
        Assert.Equal("/readyz", apiContainer["readinessProbe"]["httpGet"]["path"].ToString());
        Assert.Contains(((YamlSequenceNode)apiContainer["envFrom"]).Children, e => e is YamlMappingNode m && m.Children.ContainsKey("secretRef") && m["secretRef"]["name"].ToString() == "ingest-admin");
        Assert.Equal("ingest", api["spec"]["template"]["metadata"]["labels"]["orleans/clusterId"].ToString());

        Assert.Equal("ingest-redis:6379", Find("ConfigMap", "ingest-config")["data"]["Cluster__Redis"].ToString());
        // Redis holds the cluster configuration and producer keys too: its append-only file lives on a volume.
        var redis = Find("StatefulSet", "ingest-redis");
        var redisClaim = ((YamlSequenceNode)redis["spec"]["volumeClaimTemplates"]).Children.Single()["metadata"]["name"].ToString();
        var redisContainer = ((YamlSequenceNode)redis["spec"]["template"]["spec"]["containers"]).Children.Single();
        Assert.Contains("--appendonly", ((YamlSequenceNode)redisContainer["args"]).Children.Select(a => a.ToString()));
        var mount = ((YamlSequenceNode)redisContainer["volumeMounts"]).Children.Single();
        Assert.Equal((redisClaim, "/data"), (mount["name"].ToString(), mount["mountPath"].ToString()));
        Find("Service", "ingest-api");
        Find("Service", "ingest-silo");
        Find("PodDisruptionBudget", "ingest-silo");
        Assert.All(documents.Where(d => d["kind"].ToString() != "Namespace"), d => Assert.Equal("ingest", d["metadata"]["namespace"].ToString()));
    }

    private static string Scalar(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            node = node[key];
        }

        return node.ToString();
    }

    private static List<YamlMappingNode> Load(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode).ToList();
    }

    private static string Run(string command, params string[] arguments)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)
            ?? throw new InvalidOperationException($"{command} could not be started (./test.sh installs it)");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)} exited {process.ExitCode}: {error}");
        return output.Result;
    }
}
