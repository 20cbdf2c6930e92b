package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/notifierd/notifierd/internal/dlq"
	"github.com/notifierd/notifierd/internal/targetsim"
	"github.com/notifierd/notifierd/internal/testbed"
)

// Scenario: a cluster, not one broker. The scenario runs a 3-node Kafka cluster of its own
// (deploy/kafka/local-kafka-cluster.sh; the topics the bed made on the suite's single broker
// go unused), with the events topic and the dead-letter topic at replication factor 3
// (min.insync.replicas 2), and two notifierd processes in one group. While events stream in
// (1 in 50 bad input, so the dead-letter writer works throughout):
//
//  1. a broker leading some of the events partitions and a dead-letter partition, but not
//     coordinating the group, is stopped as a rolling restart stops it (SIGTERM: a controlled
//     shutdown), started again, and a preferred-leader election gives it its partitions back;
//  2. the broker coordinating notifierd's group (FindCoordinator) is stopped gracefully and
//     started again;
//  3. (full suite) the coordinator's node is killed with kill -9 and started again once the
//     controllers have fenced it.
//
// It checks that nothing is lost, that the group's committed offsets reach the end offsets
// once the stream has drained, that dead letters kept being written while the leaders of
// their partitions were down (the writer found the new leaders), and that the duplicates each
// fault caused are bounded by the work in flight, not by the time commits could not be made.
// It reports, per fault, the time until delivery and commits resumed.
var clusterScenario = Scenario{
	Name: "cluster", Title: "3-node cluster: partition leaders and the group coordinator move",
	Short: 3 * time.Minute, Full: 6 * time.Minute, // about 1m15s and 2m50s on 2 cores
	DuplicatesAllowed: true, // a coordinator move ends the generation: work in flight may be redelivered
	Run:               runCluster,
}

const (
	clusterNodes       = 3
	clusterPartitions  = 12
	clusterDLQParts    = 3
	clusterMaxInFlight = 25 // kafka.maxInFlightPerPartition: small, so that the duplicate bound says something
)

// kafkaCluster drives deploy/kafka/local-kafka-cluster.sh for the scenario.
type kafkaCluster struct {
	script string
	env    []string
	port   int    // client port of node 1; node n listens on port+n-1
	log    string // the script's output, appended
	logf   func(format string, args ...any)
}

func (c *kafkaCluster) addr(node int) string { return "127.0.0.1:" + strconv.Itoa(c.port+node-1) }

func (c *kafkaCluster) bootstrap() string {
	addrs := make([]string, clusterNodes)
	for i := range addrs {
		addrs[i] = c.addr(i + 1)
	}
	return strings.Join(addrs, ",")
}

// run runs the script with args; its output goes to c.log, the last lines of which an error
// quotes. A cancelled ctx kills the script's whole process group (the brokers it starts run
// in sessions of their own and are left to the wipe that closes the scenario).
func (c *kafkaCluster) run(ctx context.Context, args ...string) error {
	start := time.Now()
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "%s $ local-kafka-cluster.sh %s\n", start.Format(time.TimeOnly), strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "bash", append([]string{c.script}, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err = cmd.Run()
	c.logf("cluster: %s took %s", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		return fmt.Errorf("local-kafka-cluster.sh %s: %w%s", strings.Join(args, " "), err, testbed.Tail(c.log, 12))
	}
	return nil
}

// leaders returns, per topic, each partition's leader (-1: none).
func (k kafkaAdmin) leaders(ctx context.Context, topics ...string) (map[string]map[int]int, error) {
	c, closeFn := k.Client()
	defer closeFn()
	var out map[string]map[int]int
	err := testbed.Retry(ctx, func() error {
		meta, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err != nil {
			return err
		}
		out = map[string]map[int]int{}
		for _, t := range meta.Topics {
			if t.Error != nil {
				return t.Error
			}
			out[t.Name] = map[int]int{}
			for _, p := range t.Partitions {
				out[t.Name][p.ID] = p.Leader.ID
			}
		}
		return nil
	})
	return out, err
}

// coordinator returns the node id of the broker coordinating group.
func (k kafkaAdmin) coordinator(ctx context.Context, group string) (int, error) {
	c, closeFn := k.Client()
	defer closeFn()
	node := -1
	err := testbed.Retry(ctx, func() error {
		res, err := c.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: group, KeyType: kafka.CoordinatorKeyTypeConsumer})
		if err == nil {
			err = res.Error
		}
		if err == nil {
			node = res.Coordinator.NodeID
		}
		return err
	})
	return node, err
}

// electPreferred moves the leadership of topic's partitions back to their preferred replicas.
func (k kafkaAdmin) electPreferred(ctx context.Context, topic string, partitions int) error {
	c, closeFn := k.Client()
	defer closeFn()
	res, err := c.ElectLeaders(ctx, &kafka.ElectLeadersRequest{Topic: topic, Partitions: allPartitions(partitions), Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	errs := []error{res.Error}
	for _, p := range res.PartitionResults {
		if p.Error != nil && !errors.Is(p.Error, kafka.ElectionNotNeeded) {
			errs = append(errs, fmt.Errorf("partition %d: %w", p.Partition, p.Error))
		}
	}
	return errors.Join(errs...)
}

// clusterFault is one fault of the scenario and what was seen around it.
type clusterFault struct {
	name        string
	node        int
	kill        bool          // kill -9, else SIGTERM
	coordinator bool          // the node coordinated the group
	led         []int         // events partitions the node led
	affected    []int         // events partitions whose delivery it interrupts: those it led, or all for a coordinator
	dlqLed      []int         // dead-letter partitions the node led
	ends        map[int]int64 // events end offsets when the fault began
	pause       time.Duration // down between the stop and the start

	at         time.Time // the stop or kill began
	stopped    time.Time // the node had exited
	restarting time.Time // start-node began
	restarted  time.Time // the node was back in the cluster
	end        time.Time // delivery had gone on for a while after that

	dlqAtStop, dlqAtRestart map[int]int64 // dead-letter end offsets while the node was down
	dlqLeadersDown          map[int]int   // dead-letter partition leaders just before the restart
	coordAfter              int           // the coordinator FindCoordinator named next
	coordMoved              time.Duration // from at until it did; <0: not seen
	generations             int           // generations the members joined from at to end

	// Measured after the drain.
	duplicates         int           // acknowledgements beyond the first of ids first acknowledged before end
	resumeCommit       time.Duration // <0: not seen
	gapFrom, gapTo     time.Time     // the longest pause of acknowledgements on an affected partition that began during the fault
	gapPartition       int
	stallFrom, stallTo time.Time // the longest time without commit progress that began during the fault
	ackedInStall       int
	deliveryUnseen     []int // affected partitions with no acknowledgement after at
}

// commitSample is the group's committed offsets at one moment.
type commitSample struct {
	at        time.Time
	committed map[int]int64
}

var joinedGeneration = regexp.MustCompile(`"msg":"joined generation"`)

func runCluster(ctx context.Context, b *Bed) error {
	s := b.suite
	c := &kafkaCluster{
		script: filepath.Join(s.opts.RepoRoot, "deploy", "kafka", "local-kafka-cluster.sh"),
		// Away from the suite's broker (port, port+1), make test's (9092) and the SASL
		// broker's (9192-9194) with the default ports, and from one another.
		port: s.opts.KafkaPort + 300,
		log:  filepath.Join(b.Dir, "cluster.log"),
		logf: b.Logf,
	}
	home := filepath.Join(s.opts.RepoRoot, ".cache", "chaos", "kafka-cluster")
	c.env = []string{
		"KAFKA_CLUSTER_PORT=" + strconv.Itoa(c.port),
		"KAFKA_CLUSTER_CONTROLLER_PORT=" + strconv.Itoa(s.opts.KafkaPort+400),
		"KAFKA_CLUSTER_HOME=" + home,
		"KAFKA_LIB_DIR=" + filepath.Join(s.opts.KafkaHome, "lib"), // the suite's broker's jars: fetched once
	}
	// The cluster is the scenario's alone: wiped first (what an interrupted run left) and,
	// whatever happens, stopped and wiped when the bed closes, after the books are settled.
	b.OnClose(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.run(cctx, "wipe"); err != nil {
			b.Logf("stopping the cluster: %v", err)
		}
	})
	if err := c.run(ctx, "wipe"); err != nil {
		return err
	}
	if err := c.run(ctx, "start"); err != nil {
		return err
	}

	// The bed, moved from the suite's broker to the cluster.
	_ = b.Producer.Close()
	b.Kafka = kafkaAdmin{Admin: testbed.Admin{Addr: c.bootstrap(), ReplicationFactor: clusterNodes}}
	b.Producer = newProducer(c.bootstrap(), b.Topic)
	b.Partitions = clusterPartitions
	if err := b.Kafka.CreateTopic(ctx, b.Topic, clusterPartitions); err != nil {
		return err
	}
	if err := b.Kafka.CreateTopic(ctx, b.DLQ, clusterDLQParts); err != nil {
		return err
	}
	b.Config.Kafka.Brokers = strings.Split(c.bootstrap(), ",")
	b.Config.Kafka.MaxInFlight = clusterMaxInFlight
	b.Work.badEvery = 50
	if err := b.Sim.SetFaults(ctx, targetsim.Faults{LatencyMin: 5 * time.Millisecond, LatencyMax: 100 * time.Millisecond}); err != nil {
		return err
	}
	for range 2 {
		if _, err := b.Start(); err != nil {
			return err
		}
	}
	for _, n := range b.Running() {
		if err := n.WaitReady(ctx); err != nil {
			return err
		}
	}
	rate := b.count(300, 400)
	stopStream := b.Stream(ctx, rate)
	defer func() { _, _ = stopStream() }() // on an early return; a second call is a no-op
	pctx, stopPoll := context.WithCancel(ctx)
	samples := make(chan []commitSample, 1)
	go func() { samples <- pollCommits(pctx, b) }()
	defer stopPoll()

	if err := sleep(ctx, b.pick(5*time.Second, 15*time.Second)); err != nil {
		return err
	}
	pause := b.pick(5*time.Second, 10*time.Second) // long enough for a few dead letters to reach each new leader
	after := b.pick(4*time.Second, 10*time.Second)
	var faults []*clusterFault

	// 1. A partition leader that is not the coordinator: a rolling restart's stop and start.
	coord, lead, err := clusterRoles(ctx, b)
	if err != nil {
		return err
	}
	victim, best := -1, -1
	for node := 1; node <= clusterNodes; node++ {
		score := 10*len(ledBy(lead[b.DLQ], node)) + len(ledBy(lead[b.Topic], node)) // a dead-letter partition first
		if node != coord && len(ledBy(lead[b.Topic], node)) > 0 && score > best {
			victim, best = node, score
		}
	}
	if victim < 0 {
		return fmt.Errorf("no node but the coordinator (%d) leads an events partition: leaders %v", coord, lead[b.Topic])
	}
	led := ledBy(lead[b.Topic], victim)
	f := &clusterFault{name: "partition leader stopped (SIGTERM)", node: victim, led: led, affected: led, dlqLed: ledBy(lead[b.DLQ], victim)}
	if err := runClusterFault(ctx, b, c, f, pause, after, func() {
		for _, t := range []struct {
			name string
			n    int
		}{{b.Topic, clusterPartitions}, {b.DLQ, clusterDLQParts}} {
			if err := b.Kafka.electPreferred(ctx, t.name, t.n); err != nil {
				b.Result.Note("preferred-leader election on %s after node %d came back failed: %v", t.name, victim, err)
			}
		}
		if l, err := b.Kafka.leaders(ctx, b.Topic, b.DLQ); err == nil {
			b.Logf("after the preferred-leader election node %d leads events partitions %v and dead-letter partitions %v",
				victim, ledBy(l[b.Topic], victim), ledBy(l[b.DLQ], victim))
		}
	}); err != nil {
		return err
	}
	faults = append(faults, f)

	// 2. The group coordinator, stopped gracefully; 3. (full) killed.
	kills := []bool{false}
	if !b.Short {
		kills = append(kills, true)
	}
	for _, kill := range kills {
		coord, lead, err := clusterRoles(ctx, b)
		if err != nil {
			return err
		}
		f := &clusterFault{name: "group coordinator stopped (SIGTERM)", node: coord, kill: kill, coordinator: true,
			led: ledBy(lead[b.Topic], coord), affected: allPartitions(clusterPartitions), dlqLed: ledBy(lead[b.DLQ], coord)}
		p := pause
		if kill {
			// Its partitions and its groups stay with the dead node until the controllers
			// fence it (broker.session.timeout.ms 12 s in server-cluster.properties); the
			// members rejoin after that, and the dead-letter check needs some delivery to
			// the new leaders before the node comes back: 30 s down.
			f.name, p = "group coordinator killed (kill -9)", max(pause, 30*time.Second)
		}
		if err := runClusterFault(ctx, b, c, f, p, after, nil); err != nil {
			return err
		}
		faults = append(faults, f)
	}

	streamed, err := b.settleStream(ctx, stopStream, faults[len(faults)-1].restarted)
	if err != nil {
		return err
	}
	if err := waitLagZero(ctx, b); err != nil {
		b.Result.Fail("%v", err)
	}
	stopPoll()
	return judgeCluster(ctx, b, faults, <-samples, streamed, rate)
}

// clusterRoles returns the node coordinating the group and the leaders of the events and
// dead-letter partitions.
func clusterRoles(ctx context.Context, b *Bed) (coord int, lead map[string]map[int]int, err error) {
	if coord, err = b.Kafka.coordinator(ctx, b.Group); err != nil {
		return 0, nil, err
	}
	lead, err = b.Kafka.leaders(ctx, b.Topic, b.DLQ)
	return coord, lead, err
}

// runClusterFault stops (or kills) f.node, keeps it down for pause, starts it again and waits
// until it is back in the cluster, runs then (if any), and lets delivery go on for after.
func runClusterFault(ctx context.Context, b *Bed, c *kafkaCluster, f *clusterFault, pause, after time.Duration, then func()) error {
	var err error
	if f.ends, err = b.Kafka.EndOffsets(ctx, b.Topic); err != nil {
		return err
	}
	gens := generations(b)
	verb := "stop-node"
	if f.kill {
		verb = "kill-node"
	}
	b.Logf("%s: node %d (it leads events partitions %v and dead-letter partitions %v)", f.name, f.node, f.led, f.dlqLed)
	f.at = time.Now()
	f.coordMoved, f.coordAfter = -1, -1
	coordMoved := make(chan struct{})
	if f.coordinator { // from the stop on, until FindCoordinator names another node
		cctx, cancel := context.WithTimeout(ctx, pause+time.Minute)
		defer cancel()
		go func() {
			defer close(coordMoved)
			for cctx.Err() == nil {
				qctx, qcancel := context.WithTimeout(cctx, 2*time.Second)
				node, err := b.Kafka.coordinator(qctx, b.Group)
				qcancel()
				if err == nil && node != f.node {
					f.coordAfter, f.coordMoved = node, time.Since(f.at)
					return
				}
				_ = sleep(cctx, 100*time.Millisecond)
			}
		}()
	} else {
		close(coordMoved)
	}
	if err := c.run(ctx, verb, strconv.Itoa(f.node)); err != nil {
		return err
	}
	f.stopped = time.Now()
	if f.dlqAtStop, err = b.Kafka.EndOffsets(ctx, b.DLQ); err != nil {
		return err
	}
	f.pause = pause
	if err := sleep(ctx, time.Until(f.stopped.Add(pause))); err != nil {
		return err
	}
	<-coordMoved
	// Still down: who leads now, and how far the dead-letter topic got without the node.
	if l, err := b.Kafka.leaders(ctx, b.DLQ); err == nil {
		f.dlqLeadersDown = l[b.DLQ]
	}
	if f.dlqAtRestart, err = b.Kafka.EndOffsets(ctx, b.DLQ); err != nil {
		return err
	}
	f.restarting = time.Now()
	if err := c.run(ctx, "start-node", strconv.Itoa(f.node)); err != nil {
		return err
	}
	f.restarted = time.Now()
	b.Logf("%s: node %d back after %s down", f.name, f.node, f.restarted.Sub(f.stopped).Round(100*time.Millisecond))
	if then != nil {
		then()
	}
	if err := sleep(ctx, after); err != nil {
		return err
	}
	f.end = time.Now()
	f.generations = generations(b) - gens
	return nil
}

// generations counts the generations the scenario's notifierd processes have joined so far.
func generations(b *Bed) int {
	b.mu.Lock()
	daemons := append([]*testbed.Notifierd(nil), b.daemons...)
	b.mu.Unlock()
	n := 0
	for _, d := range daemons {
		n += len(testbed.GrepLog(d.LogPath, joinedGeneration, 1<<30))
	}
	return n
}

// pollCommits samples the group's committed offsets every 250 ms until ctx ends. A sample
// that cannot be taken (the coordinator moving) is skipped.
func pollCommits(ctx context.Context, b *Bed) []commitSample {
	var out []commitSample
	for ctx.Err() == nil {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		committed, err := b.Kafka.Committed(qctx, b.Group, b.Topic)
		cancel()
		if err == nil {
			out = append(out, commitSample{at: time.Now(), committed: committed})
		}
		_ = sleep(ctx, 250*time.Millisecond)
	}
	return out
}

// waitLagZero waits until the group's committed offsets equal the end offsets on every
// partition, with the members still running: the drain commits everything.
func waitLagZero(ctx context.Context, b *Bed) error {
	committed, end, err := b.awaitCaughtUp(ctx, 30*time.Second)
	if err != nil {
		return err
	}
	if gaps := CommitGaps(committed, end); len(gaps) > 0 {
		return fmt.Errorf("lag not 0 30 s after every event settled (members still running): %s", strings.Join(gaps, "; "))
	}
	b.Result.Note("lag 0 after the drain: with both members still running, the committed offsets reached the end offsets of all %d partitions", len(end))
	return nil
}

// judgeCluster reads the run back and checks and reports each fault.
func judgeCluster(ctx context.Context, b *Bed, faults []*clusterFault, samples []commitSample, streamed, rate int) error {
	msgs, err := b.Kafka.ReadAll(ctx, b.Topic)
	if err != nil {
		return err
	}
	acks, err := b.Sim.Acks(ctx)
	if err != nil {
		return err
	}
	copies := map[string]int{}
	for _, m := range msgs {
		copies[dlq.Header(m, HeaderID)]++
	}

	// Duplicates: an id acknowledged more often than it was produced was in flight at a
	// fault; it belongs to the first fault that ended after its first acknowledgement.
	unexplained := 0
	for id, a := range acks {
		if copies[id] == 0 || a.Count <= copies[id] {
			continue
		}
		i := slices.IndexFunc(faults, func(f *clusterFault) bool { return !a.First.After(f.end) })
		if i < 0 {
			unexplained += a.Count - copies[id]
			continue
		}
		faults[i].duplicates += a.Count - copies[id]
	}
	if unexplained > 0 {
		b.Result.Fail("%d duplicate acknowledgement(s) of ids first acknowledged after the last fault had ended", unexplained)
	}

	// The bound on the duplicates of one fault. Whatever a fault does to the group, at worst
	// it ends the generation and every partition is released; a released partition has at
	// most kafka.maxInFlightPerPartition offsets fetched and not yet committed (its fetcher
	// pauses there), and notifierd commits its watermark (retried to whichever broker
	// coordinates the group by then) before another member fetches it again. So no more than
	// maxInFlightPerPartition x partitions events can be redelivered. Had the commits that
	// failed while the coordinator moved simply been lost, the redelivery would be everything
	// acknowledged since the last commit that got through, which grows with the time commits
	// stalled (reported beside the bound as "acknowledged while commits stalled").
	bound := clusterMaxInFlight * clusterPartitions
	b.DupBound = bound * len(faults)
	b.DupBoundWhat = fmt.Sprintf("kafka.maxInFlightPerPartition (%d) x %d partitions for each of the %d faults", clusterMaxInFlight, clusterPartitions, len(faults))

	for i, f := range faults {
		// A pause belongs to the fault during which it began (from a second before it).
		until := f.end
		if i+1 < len(faults) {
			until = faults[i+1].at.Add(-time.Second)
		}
		measureGap(f, f.at.Add(-time.Second), until, msgs, acks)
		measureStall(f, f.at.Add(-time.Second), until, samples, acks)
		f.resumeCommit = -1
		for _, s := range samples {
			if s.at.Before(f.at) {
				continue
			}
			if caughtUp(s.committed, f.ends, f.affected) {
				f.resumeCommit = s.at.Sub(f.at)
				break
			}
		}
		if f.duplicates > bound {
			b.Result.Fail("%s: %d duplicates, more than the work in flight can explain (kafka.maxInFlightPerPartition %d x %d partitions = %d); %d events were acknowledged while commits stalled: redelivery follows the time since the last commit",
				f.name, f.duplicates, clusterMaxInFlight, clusterPartitions, bound, f.ackedInStall)
		}
		if len(f.deliveryUnseen) > 0 {
			b.Result.Fail("%s: nothing was acknowledged after the fault began on partitions %v", f.name, f.deliveryUnseen)
		}
		if f.resumeCommit < 0 {
			b.Result.Fail("%s: the committed offsets never passed the end offsets at the fault on all of partitions %v", f.name, f.affected)
		}
		// The dead-letter writer: the partitions the node led must have taken dead letters
		// while it was down, i.e. at their new leaders. That proves something only if dead
		// letters were written at all meanwhile.
		var followed []string
		var wrote int64
		for p, e := range f.dlqAtRestart {
			wrote += e - f.dlqAtStop[p]
		}
		if len(f.dlqLed) > 0 && wrote == 0 {
			b.Result.Fail("%s: no dead letter at all was written while node %d was down (delivery paused from %s to %s after the fault began): the dead-letter writer's move to the new leaders went untested",
				f.name, f.node, dur(f.gapFrom.Sub(f.at)), dur(f.gapTo.Sub(f.at)))
		}
		for _, p := range f.dlqLed {
			grew := f.dlqAtRestart[p] - f.dlqAtStop[p]
			leader := f.dlqLeadersDown[p]
			if grew <= 0 && wrote > 0 {
				b.Result.Fail("%s: dead-letter partition %d (led by node %d before the fault, by node %d while it was down) took no dead letter while node %d was down: the dead-letter writer did not follow the new leader",
					f.name, p, f.node, leader, f.node)
				continue
			}
			followed = append(followed, fmt.Sprintf("partition %d took %d at node %d", p, grew, leader))
		}
		dlq := "it led no dead-letter partition"
		if len(f.dlqLed) > 0 {
			dlq = "dead letters followed the new leaders (" + strings.Join(followed, ", ") + ")"
		}
		coord := ""
		switch {
		case f.coordMoved >= 0:
			coord = fmt.Sprintf("; FindCoordinator named node %d %s after the fault began", f.coordAfter, dur(f.coordMoved))
		case f.coordinator:
			b.Result.Fail("%s: FindCoordinator never named another node than the stopped %d", f.name, f.node)
		}
		// Before the fault began, the pause is counted from the fault.
		resumed := fmt.Sprintf("longest pause of delivery on the %d affected partitions %s (partition %d, from %s to %s after the fault began)",
			len(f.affected), dur(f.gapTo.Sub(f.gapFrom)), f.gapPartition, dur(max(f.gapFrom.Sub(f.at), 0)), dur(f.gapTo.Sub(f.at)))
		b.Result.Note("%s: node %d (leading events partitions %v), out for %s (the stop took %s, then %s down, then %s until it was back in the cluster)%s; %s; the commits passed the end offsets of the fault's start %s after it began; longest time without commit progress %s (%d events acknowledged meanwhile); %d generation(s) joined; %d duplicates (bound %d); %s",
			f.name, f.node, f.led, dur(f.restarted.Sub(f.at)), dur(f.stopped.Sub(f.at)), f.pause, dur(f.restarted.Sub(f.restarting)),
			coord, resumed, dur(f.resumeCommit), dur(f.stallTo.Sub(f.stallFrom)), f.ackedInStall, f.generations, f.duplicates, bound, dlq)
	}
	b.Result.Note("%d events streamed at %d/s through the faults (1 in 50 bad input), by a producer with acks=all that retried %d writes; topics at replication factor 3, min.insync.replicas 2; two notifierd processes with kafka.maxInFlightPerPartition %d throughout, neither restarted",
		streamed, rate, b.Producer.Retries(), clusterMaxInFlight)
	b.Result.Note("time to recover: from the last fault's node back in the cluster to every event settled")
	return nil
}

func dur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(100 * time.Millisecond).String()
}

// measureGap finds, over the partitions f affected, the longest pause between two
// acknowledgements (first acknowledgements of the partition's events, in time order) that
// began in [from, until): how long delivery stopped, end to end (a partition whose leader is
// gone also receives nothing new until another leader takes over).
func measureGap(f *clusterFault, from, until time.Time, msgs []kafka.Message, acks map[string]Ack) {
	times := map[int][]time.Time{}
	for _, m := range msgs {
		if a, ok := acks[dlq.Header(m, HeaderID)]; ok && a.Count > 0 && slices.Contains(f.affected, m.Partition) {
			times[m.Partition] = append(times[m.Partition], a.First)
		}
	}
	for _, p := range f.affected {
		t := times[p]
		slices.SortFunc(t, time.Time.Compare)
		if len(t) == 0 || !t[len(t)-1].After(f.at) {
			f.deliveryUnseen = append(f.deliveryUnseen, p)
			continue
		}
		if a, z := longestGap(t, from, until); z.Sub(a) > f.gapTo.Sub(f.gapFrom) {
			f.gapFrom, f.gapTo, f.gapPartition = a, z, p
		}
	}
}

// longestGap returns the longest interval between consecutive times (sorted) that begins in
// [from, until); zero times if there is none.
func longestGap(times []time.Time, from, until time.Time) (a, z time.Time) {
	for i := 1; i < len(times); i++ {
		if times[i-1].Before(from) || !times[i-1].Before(until) {
			continue
		}
		if times[i].Sub(times[i-1]) > z.Sub(a) {
			a, z = times[i-1], times[i]
		}
	}
	return a, z
}

// measureStall finds the longest time without commit progress (the sum of the committed
// offsets not moving, or no sample to be had) that began in [from, until), and counts the
// events first acknowledged meanwhile: what the fault would have redelivered had it lost the
// commits of that time.
func measureStall(f *clusterFault, from, until time.Time, samples []commitSample, acks map[string]Ack) {
	var progress []time.Time
	last := int64(-1)
	for _, s := range samples {
		var sum int64
		for _, o := range s.committed {
			sum += max(o, 0)
		}
		if sum != last {
			progress = append(progress, s.at)
			last = sum
		}
	}
	f.stallFrom, f.stallTo = longestGap(progress, from, until)
	for _, a := range acks {
		if a.First.After(f.stallFrom) && !a.First.After(f.stallTo) {
			f.ackedInStall++
		}
	}
}

// caughtUp reports whether committed has reached ends on every partition of parts.
func caughtUp(committed, ends map[int]int64, parts []int) bool {
	for _, p := range parts {
		if committed[p] < ends[p] {
			return false
		}
	}
	return true
}

// ledBy lists the partitions whose leader is node, in order.
func ledBy(leaders map[int]int, node int) []int {
	var out []int
	for p, l := range leaders {
		if l == node {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

func allPartitions(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
