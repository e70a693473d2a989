package drill

import (
	"context"
	"errors"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LockName is the Lease a running drill holds in the drill namespace: one drill at a time.
const LockName = "firedrill-drill"

// ErrDrillInProgress means another drill holds the namespace's drill lock.
var ErrDrillInProgress = errors.New("another drill is running in this namespace")

// lockTTL is how long a lock lives without its holder: a crashed drill's lock expires after it,
// or `firedrill cleanup` removes it at once (the lock is in the undo journal).
const lockTTL = time.Hour

// lock takes the drill lock, journaling its removal first so a killed drill's lock is undone by
// cleanup. A lock whose holder stopped renewing it more than lockTTL ago is taken over.
func (d *Drill) lock(ctx context.Context) (release func(context.Context) error, err error) {
	leases := d.Cluster.Clientset.CoordinationV1().Leases(d.Namespace)
	undo := Undo{Kind: "delete", Why: "release the drill lock of " + d.ID, Group: "coordination.k8s.io", Version: "v1",
		Resource: "leases", Namespace: d.Namespace, Name: LockName}
	now := metav1.NewMicroTime(time.Now())
	ttl := int32(lockTTL.Seconds())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LockName, Labels: map[string]string{"app.kubernetes.io/managed-by": "firedrill"}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &d.ID, AcquireTime: &now, RenewTime: &now, LeaseDurationSeconds: &ttl},
	}
	existing, err := leases.Get(ctx, LockName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read drill lock: %w", err)
	default:
		holder, since := "", time.Time{}
		if existing.Spec.HolderIdentity != nil {
			holder = *existing.Spec.HolderIdentity
		}
		if existing.Spec.RenewTime != nil {
			since = existing.Spec.RenewTime.Time
		}
		if time.Since(since) < lockTTL {
			return nil, fmt.Errorf("%w: %s holds lease %s/%s since %s; wait for it to finish, or run 'make cleanup' if it was killed",
				ErrDrillInProgress, holder, d.Namespace, LockName, since.UTC().Format(time.RFC3339))
		}
		// Expired: the holder is gone. Take it over only if nobody else did in between.
		lease.ResourceVersion = existing.ResourceVersion
	}
	seq, err := d.Journal.Record(undo)
	if err != nil {
		return nil, err
	}
	if lease.ResourceVersion == "" {
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
	} else {
		_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	}
	if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		_ = d.Journal.Done(seq)
		return nil, fmt.Errorf("%w: another drill took lease %s/%s just now; wait for it to finish", ErrDrillInProgress, d.Namespace, LockName)
	}
	if err != nil {
		_ = d.Journal.Done(seq)
		return nil, fmt.Errorf("take drill lock: %w", err)
	}
	d.lockSeq = seq
	return func(ctx context.Context) error {
		if err := Apply(ctx, d.Cluster, undo); err != nil {
			return fmt.Errorf("release drill lock: %w", err)
		}
		return d.Journal.Done(seq)
	}, nil
}
