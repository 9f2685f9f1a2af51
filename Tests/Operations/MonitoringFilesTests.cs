using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ingest.Tests.Infrastructure;
using Ingest.Tests.Kafka;
using YamlDotNet.RepresentationModel;

namespace Ingest.Tests.Operations;

[Collection(nameof(MetricsCollection))]
public sealed partial class MonitoringFilesTests(KafkaSilo silo) : IClassFixture<KafkaSilo>
{
    [Fact]
    public async Task every_metric_the_alert_rules_and_the_grafana_dashboard_use_is_one_ingest_exports()
    {
        silo.Kafka.CreateTopic("monitored", partitions: 1);
        Assert.Equal(HttpStatusCode.Accepted, (await silo.Http.PostAsync("/v1/topics/monitored", new StringContent("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await silo.Http.PostAsync("/v1/topics/monitored/batch", new StringContent("nope", System.Text.Encoding.UTF8, "application/x-ndjson"))).StatusCode);
        await Poll.Until(async () => (await PrometheusText.ScrapeAsync(silo.Http)).Value("ingest_records_shipped_total", ("topic", "monitored")) == 1, TimeSpan.FromSeconds(30), "the record to be shipped");
        var scraped = MetricNames().Matches((await PrometheusText.ScrapeAsync(silo.Http)).Text).Select(m => BaseName(m.Value)).ToHashSet();

        // Every instrument of the Ingest meters, named the way the Prometheus exporter names it.
        var exported = new HashSet<string>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name is "Ingest" or "Ingest.Api")
                {
                    exported.Add(PrometheusName(instrument));
                }
            };
            listener.Start();
        }

        Assert.True(scraped.IsSubsetOf(exported), $"the naming rule must match what /metrics shows; not named by it: {string.Join(", ", scraped.Except(exported))}");
        Assert.Contains("ingest_backlog_records", scraped);

        var root = Repo.Root;
        var rules = new YamlStream();
        rules.Load(new StringReader(await File.ReadAllTextAsync(Path.Combine(root, "deploy", "monitoring", "alerts.yml"))));
        var alerts = ((YamlSequenceNode)((YamlSequenceNode)rules.Documents[0].RootNode["groups"]).Children[0]["rules"]).Children.Cast<YamlMappingNode>().ToList();
        Assert.Equal(["IngestBacklogGrowing", "IngestOldestRecordTooOld", "IngestDiskBudgetAbove80Percent", "IngestKafkaDeliveryErrors", "IngestRejectingOverload", "IngestSiloCutOff"],
            alerts.Select(a => a["alert"].ToString()));
        Assert.All(alerts, a => Assert.False(string.IsNullOrWhiteSpace(a["annotations"]["summary"].ToString())));

        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "deploy", "monitoring", "grafana-dashboard.json")))!;
        var expressions = alerts.Select(a => a["expr"].ToString())
            .Concat(dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => t!["expr"]!.GetValue<string>())))
            .ToList();
        Assert.True(expressions.Count >= 15, $"alert rules and panels hold {expressions.Count} queries");
        foreach (var expression in expressions)
        {
            foreach (var metric in MetricNames().Matches(expression).Select(m => BaseName(m.Value)))
            {
                Assert.True(exported.Contains(metric), $"'{metric}' in `{expression}` is not a metric Ingest exports ({string.Join(", ", exported.Order())})");
            }
        }
    }

    /// <summary>The OpenTelemetry Prometheus exporter's name: dots to underscores, a unit suffix unless the name ends with it, _total for counters.</summary>
    private static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_');
        var suffix = instrument.Unit switch
        {
            "By" => "_bytes",
            "s" => "_seconds",
            _ => "",
        };
        name += name.EndsWith(suffix, StringComparison.Ordinal) ? "" : suffix;
        var type = instrument.GetType().GetGenericTypeDefinition();
        return type == typeof(Counter<>) || type == typeof(ObservableCounter<>) ? name + "_total" : name;
    }

    private static string BaseName(string sample) => Regex.Replace(sample, "_(bucket|sum|count)$", "");

    [GeneratedRegex(@"\bingest_[a-z_]+")]
    private static partial Regex MetricNames();
}
