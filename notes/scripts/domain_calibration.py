#!/usr/bin/env python3
# Calibration of the domain-check threshold (notes/domain.md). Reimplements src/staging/domain.cpp's distance in
# plain Python (checked: SC4001E0 as model c gives 0.116749... in both) and measures it on Sleep-EDF nights
# held out from the reference: 5 subject-wise folds (both nights of a subject in one fold, shuffled with
# seed 1), each fold's nights against a reference built from the other four; per held-out night as model a
# (fpz_cz, pz_oz, eog) and model c (fpz_cz in the pooled eeg slot) see it, and three 30-min excerpts per
# night (60 rows from 10 %, 40 % and 70 % into its sleep epochs) as model c. Pure Python, ~2 min.
# DREAMS distances come from `psgkit stage ../shared/data/dreams/excerptN.edf --json` (domain_distance).
import csv, glob, sys, random, json
feats=['std','iqr','skew','kurtosis','zero_crossings','hjorth_mobility','hjorth_complexity','higuchi_fd','petrosian_fd','hist_entropy_5','hist_entropy_10','hist_entropy_30','hist_entropy_60']
fs=sorted(glob.glob(sys.argv[1] + '/sleep-edf-153/*.timedomain.csv' if len(sys.argv) > 1 else '../shared/data/sleep-edf-153/*.timedomain.csv'))
nights={}
for fn in fs:
  name=fn.split('/')[-1][:8]
  rows=[r for r in csv.DictReader(open(fn))]
  nights[name]=rows
def pct(v,levels):
  v=sorted(v); n=len(v); out=[]
  for l in levels:
    pos=l*(n-1); k=int(pos); t=pos-k
    out.append(v[k] if k+1>=n else v[k]+(v[k+1]-v[k])*t)
  return out
levels=[k/100 for k in range(101)]
import bisect
def position(q,x):
  i=bisect.bisect_left(q,x); j=bisect.bisect_right(q,x)
  if i<j: return 0.5*(levels[i]+levels[j-1])
  if i==0: return 0.0
  if i==len(q): return 1.0
  return levels[i-1]+(levels[i]-levels[i-1])*(x-q[i-1])/(q[i]-q[i-1])
def build(names):
  ref={}
  for slot,prefs in [('fpz_cz',['fpz_cz']),('pz_oz',['pz_oz']),('eog',['eog']),('eeg',['fpz_cz','pz_oz'])]:
    ref[slot]={}
    for f in feats:
      v=[float(r[p+'_'+f]) for n in names for r in nights[n] if r['stage']!='UNS' for p in prefs]
      ref[slot][f]=pct(v,levels)
  return ref
def components(rows, prefixes, slots, ref):
  comps=[]
  for p,s in zip(prefixes,slots):
    for f in feats:
      pos=[position(ref[s][f],float(r[p+'_'+f])) for r in rows]
      out=sum(1 for x in pos if x<0.01 or x>0.99)/len(pos)
      comps.append((out,s+'_'+f))
  comps.sort(reverse=True)
  return comps
subjects=sorted(set(n[3:5] for n in nights))
random.seed(1); random.shuffle(subjects)
folds=[subjects[i::5] for i in range(5)]
res=[]
for k,fold in enumerate(folds):
  train=[n for n in nights if n[3:5] not in fold]
  ref=build(train)
  for n in nights:
    if n[3:5] in fold:
      rows=nights[n]
      for model,(pref,slots) in {'a':(['fpz_cz','pz_oz','eog'],)*2,'c':(['fpz_cz'],['eeg'])}.items():
        c=components(rows,pref,slots,ref)
        res.append((n,model,c))
      sleep=[i for i,r in enumerate(rows) if r['stage'] in ('N1','N2','N3','REM')]
      for e,frac in enumerate((0.1,0.4,0.7)):
        i0=sleep[int(frac*len(sleep))]
        ex=rows[i0:i0+60]
        res.append((n+'-x%d'%e,'c',components(ex,['fpz_cz'],['eeg'],ref)))
  print('fold',k,file=sys.stderr)



def summ(c,how):
  f=sorted([x[0] for x in c],reverse=True)
  if how=='max': return f[0]
  if how=='top3': return sum(f[:3])/3
  if how=='mean': return sum(f)/len(f)
  if how=='top5': return sum(f[:5])/5
for how in ['max','top3','top5','mean']:
  for kind in ['a','c','x']:
    v=sorted(summ(c,how) for n,m,c in res if (m==kind and '-x' not in n) or (kind=='x' and '-x' in n))
    q=lambda p: v[min(len(v)-1,int(p*(len(v)-1)))]
    print(how,kind,len(v),'median %.3f p90 %.3f p95 %.3f p99 %.3f max %.3f'%(q(.5),q(.9),q(.95),q(.99),v[-1]))
# worst nights for top3 c
w=sorted(((summ(c,'top3'),n,c[:3]) for n,m,c in res if m=='c'),reverse=True)[:8]
for x in w: print('%.3f'%x[0],x[1],[(round(a,3),b) for a,b in x[2]])
print()
for thr in (0.2,0.25,0.3):
  for kind in ['a','c','x']:
    v=[summ(c,'top3') for n,m,c in res if (m==kind and '-x' not in n) or (kind=='x' and '-x' in n)]
    print('thr',thr,kind,'flagged %d of %d (%.1f %%)'%(sum(x>thr for x in v),len(v),100*sum(x>thr for x in v)/len(v)))
